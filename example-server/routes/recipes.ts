// Recipe routes: cached reads (response cache over query cache) and an update that invalidates both.
import { type RequestHandler, Router } from 'express';
import {
  listQuery,
  PAGE_SIZE,
  type Query,
  type Recipe,
  type RecipeSummary,
  recipeQuery,
  runList,
  runOne,
  type SqlDatabase,
  updateRecipe,
} from '../db';
import { HttpProblem } from '../problem';
import { parseId, parseListQuery, parsePatch } from '../validate';
import { requireUser } from './auth';

/** How the recipe routes reach the database and the caches. */
export interface RecipeDeps {
  db: SqlDatabase;
  /** Runs a read query through the query cache. */
  cachedQuery<T>(query: Query, load: () => T): Promise<T>;
  /** Runs a write, then invalidates every cached query and response about recipes. */
  write<T>(run: () => T, id: number): Promise<T>;
  /** Response cache middleware of `GET /recipes` and of `GET /recipes/:id`. */
  listCache: RequestHandler;
  itemCache: RequestHandler;
}

export function recipeRoutes(deps: RecipeDeps): Router {
  const router = Router();

  router.get('/recipes', deps.listCache, async (req, res) => {
    const { cuisine, page } = parseListQuery(req.query);
    const query = listQuery(cuisine, page);
    const { total, recipes } = await deps.cachedQuery<{ total: number; recipes: RecipeSummary[] }>(query, () =>
      runList(deps.db, query),
    );
    res.json({ page, pageSize: PAGE_SIZE, total, cuisine, recipes });
  });

  router.get('/recipes/:id', deps.itemCache, async (req, res) => {
    const id = parseId(req.params.id);
    const query = recipeQuery(id);
    const recipe = await deps.cachedQuery<Recipe | null>(query, () => runOne(deps.db, query));
    if (recipe === null) throw new HttpProblem(404, 'Not Found', `There is no recipe ${id}`);
    res.json({ recipe });
  });

  // Logged-in users only: an anonymous client must not change a recipe for everyone.
  router.put('/recipes/:id', ...requireUser(), async (req, res) => {
    const id = parseId(req.params.id);
    const patch = parsePatch(req, id);
    const recipe = await deps.write(() => updateRecipe(deps.db, id, patch), id);
    if (recipe === null) throw new HttpProblem(404, 'Not Found', `There is no recipe ${id}`);
    res.json({ recipe });
  });

  return router;
}
