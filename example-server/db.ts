// The example's SQL database (SQLite through better-sqlite3): schema, first-start seed, and the queries the routes run.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SEED_RECIPES } from './seed-data';

export type SqlDatabase = Database.Database;

/** A recipe as the API returns it. */
export interface Recipe {
  id: number;
  title: string;
  cuisine: string;
  minutes: number;
  ingredients: string[];
  instructions: string;
  updatedAt: string;
}

/** A recipe in a list. */
export type RecipeSummary = Pick<Recipe, 'id' | 'title' | 'cuisine' | 'minutes'>;

/** A signed-in user. */
export interface User {
  id: number;
  username: string;
}

/** The fields `PUT /recipes/:id` may change. */
export type RecipePatch = Partial<Pick<Recipe, 'title' | 'cuisine' | 'minutes' | 'ingredients' | 'instructions'>>;

/** A read query as the query cache sees it: the tables it reads, its SQL and parameters. */
export interface Query {
  tables: string[];
  sql: string;
  params: Array<string | number | null>;
}

/** Recipes per page of `GET /recipes`. */
export const PAGE_SIZE = 10;

/** Opens (creating the folder when needed) a database file, or `':memory:'`. */
export function openDatabase(file: string): SqlDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  return db;
}

/** Creates the tables when missing and seeds the recipes when the table is empty. */
export function prepareDatabase(db: SqlDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS recipes (
      id INTEGER PRIMARY KEY,
      title TEXT NOT NULL,
      cuisine TEXT NOT NULL,
      minutes INTEGER NOT NULL,
      ingredients TEXT NOT NULL,
      instructions TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS recipes_cuisine ON recipes (cuisine, id);
    CREATE TABLE IF NOT EXISTS users (
      id INTEGER PRIMARY KEY,
      username TEXT NOT NULL UNIQUE,
      last_login_at TEXT NOT NULL
    );
  `);
  const { count } = db.prepare('SELECT COUNT(*) AS count FROM recipes').get() as { count: number };
  if (count > 0) return;
  const insert = db.prepare(
    'INSERT INTO recipes (title, cuisine, minutes, ingredients, instructions, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const seededAt = new Date().toISOString();
  db.transaction(() => {
    for (const [title, cuisine, minutes, ingredients] of SEED_RECIPES) {
      const instructions = `Prepare the ${ingredients.slice(0, -1).join(', ')} and ${ingredients.at(-1)}; cook for about ${minutes} minutes and serve.`;
      insert.run(title, cuisine, minutes, JSON.stringify(ingredients), instructions, seededAt);
    }
  })();
}

/** The query behind `GET /recipes`: one page of recipes, all cuisines when `cuisine` is null. */
export function listQuery(cuisine: string | null, page: number): Query {
  return {
    tables: ['recipes'],
    sql: 'SELECT id, title, cuisine, minutes FROM recipes WHERE (? IS NULL OR cuisine = ?) ORDER BY id LIMIT ? OFFSET ?',
    params: [cuisine, cuisine, PAGE_SIZE, (page - 1) * PAGE_SIZE],
  };
}

const COUNT_SQL = 'SELECT COUNT(*) AS total FROM recipes WHERE (? IS NULL OR cuisine = ?)';

/** The query behind `GET /recipes/:id`. */
export function recipeQuery(id: number): Query {
  return {
    tables: ['recipes'],
    sql: 'SELECT id, title, cuisine, minutes, ingredients, instructions, updated_at FROM recipes WHERE id = ?',
    params: [id],
  };
}

/** Runs a list query: the page of recipes and how many match in all. */
export function runList(db: SqlDatabase, query: Query): { total: number; recipes: RecipeSummary[] } {
  const recipes = db.prepare(query.sql).all(...query.params) as RecipeSummary[];
  const { total } = db.prepare(COUNT_SQL).get(...query.params.slice(0, 2)) as { total: number };
  return { total, recipes };
}

interface RecipeRow {
  id: number;
  title: string;
  cuisine: string;
  minutes: number;
  ingredients: string;
  instructions: string;
  updated_at: string;
}

/** Runs a single-recipe query; null when there is no such recipe. */
export function runOne(db: SqlDatabase, query: Query): Recipe | null {
  const row = db.prepare(query.sql).get(...query.params) as RecipeRow | undefined;
  return row === undefined ? null : toRecipe(row);
}

const PATCHABLE = new Set(['title', 'cuisine', 'minutes', 'ingredients', 'instructions']);

/** Applies a patch; the updated recipe, or null when there is no such recipe. */
export function updateRecipe(db: SqlDatabase, id: number, patch: RecipePatch): Recipe | null {
  const columns = Object.entries(patch).filter(([name, value]) => value !== undefined && PATCHABLE.has(name));
  const assignments = columns.map(([name]) => `${name} = ?`);
  const values = columns.map(([name, value]) => (name === 'ingredients' ? JSON.stringify(value) : value));
  const row = db
    .prepare(`UPDATE recipes SET ${[...assignments, 'updated_at = ?'].join(', ')} WHERE id = ? RETURNING *`)
    .get(...(values as Array<string | number | null>), new Date().toISOString(), id) as RecipeRow | undefined;
  return row === undefined ? null : toRecipe(row);
}

/** Records a login; creates the user on first login. */
export function upsertUser(db: SqlDatabase, username: string): User {
  return db
    .prepare(
      `INSERT INTO users (username, last_login_at) VALUES (?, ?)
       ON CONFLICT (username) DO UPDATE SET last_login_at = excluded.last_login_at
       RETURNING id, username`,
    )
    .get(username, new Date().toISOString()) as User;
}

function toRecipe(row: RecipeRow): Recipe {
  return {
    id: row.id,
    title: row.title,
    cuisine: row.cuisine,
    minutes: row.minutes,
    ingredients: JSON.parse(row.ingredients) as string[],
    instructions: row.instructions,
    updatedAt: row.updated_at,
  };
}
