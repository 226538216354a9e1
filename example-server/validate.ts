// Request validation: turns bodies, params and query strings into typed values, or a 400 problem naming the field.
import type { Request } from 'express';
import type { RecipePatch } from './db';
import { HttpProblem } from './problem';

/** One invalid field, as listed in the problem's `errors` member. */
export interface FieldError {
  /** JSON Pointer (RFC 6901) into the body, or the query/path parameter name. */
  pointer: string;
  detail: string;
}

function invalid(errors: FieldError[], what = 'request body'): HttpProblem {
  return new HttpProblem(
    400,
    'Bad Request',
    `The ${what} is invalid: ${errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}`,
    'validation-errors',
    { errors },
  );
}

/** The JSON object body, or a 415/400 problem when there is none. */
function jsonObject(req: Request): Record<string, unknown> {
  if (!req.is('application/json')) {
    throw new HttpProblem(415, 'Unsupported Media Type', 'Send a JSON object with Content-Type: application/json');
  }
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid([{ pointer: '/', detail: 'must be a JSON object' }]);
  }
  return body as Record<string, unknown>;
}

function unknownFields(body: Record<string, unknown>, allowed: readonly string[]): FieldError[] {
  return Object.keys(body)
    .filter((key) => !allowed.includes(key))
    .map((key) => ({ pointer: `/${key}`, detail: 'is not a known field' }));
}

const USERNAME = /^[A-Za-z0-9_.-]{1,32}$/;

/** `POST /auth/login` body: `{ username }`, 1–32 letters, digits, `_`, `.` or `-`. */
export function parseLogin(req: Request): { username: string } {
  const body = jsonObject(req);
  const errors = unknownFields(body, ['username']);
  if (typeof body.username !== 'string' || !USERNAME.test(body.username)) {
    errors.push({ pointer: '/username', detail: 'must be 1-32 letters, digits, "_", "." or "-"' });
  }
  if (errors.length > 0) throw invalid(errors);
  return { username: body.username as string };
}

/** Most ingredients one suggestion request may list. */
export const MAX_INGREDIENTS = 20;

/** `POST /ai/suggest` body: `{ ingredients: string[] }`, normalised (trimmed, lower case, unique, sorted). */
export function parseSuggest(req: Request): { ingredients: string[] } {
  const body = jsonObject(req);
  const errors = unknownFields(body, ['ingredients']);
  const list = body.ingredients;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_INGREDIENTS) {
    errors.push({ pointer: '/ingredients', detail: `must be a list of 1-${MAX_INGREDIENTS} ingredient names` });
  } else {
    list.forEach((item, i) => {
      if (typeof item !== 'string' || item.trim() === '' || item.trim().length > 40) {
        errors.push({ pointer: `/ingredients/${i}`, detail: 'must be a non-empty string of at most 40 characters' });
      }
    });
  }
  if (errors.length > 0) throw invalid(errors);
  const names = (list as string[]).map((item) => item.trim().toLowerCase().replace(/\s+/g, ' '));
  return { ingredients: [...new Set(names)].sort() };
}

const CUISINE = /^[a-z]{1,30}$/;
const PATCH_FIELDS = ['title', 'cuisine', 'minutes', 'ingredients', 'instructions'] as const;
/** Fields of a recipe as `GET` returns it that a `PUT` may echo back; they are ignored. */
const READ_ONLY_FIELDS = ['id', 'updatedAt'];

/** `PUT /recipes/:id` body: any of title, cuisine, minutes, ingredients, instructions (at least one). */
export function parsePatch(req: Request, id: number): RecipePatch {
  const body = jsonObject(req);
  const errors = unknownFields(body, [...PATCH_FIELDS, ...READ_ONLY_FIELDS]);
  if (body.id !== undefined && body.id !== id) errors.push({ pointer: '/id', detail: `must be ${id} when given` });
  const text = (field: 'title' | 'instructions', max: number): void => {
    const value = body[field];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '' || value.length > max)) {
      errors.push({ pointer: `/${field}`, detail: `must be a non-empty string of at most ${max} characters` });
    }
  };
  text('title', 120);
  text('instructions', 4000);
  if (body.cuisine !== undefined && (typeof body.cuisine !== 'string' || !CUISINE.test(body.cuisine))) {
    errors.push({ pointer: '/cuisine', detail: 'must be 1-30 lower-case letters' });
  }
  const minutes = body.minutes;
  if (
    minutes !== undefined &&
    (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 10_000)
  ) {
    errors.push({ pointer: '/minutes', detail: 'must be a whole number from 1 to 10000' });
  }
  const ingredients = body.ingredients;
  if (
    ingredients !== undefined &&
    (!Array.isArray(ingredients) ||
      ingredients.length === 0 ||
      ingredients.length > 50 ||
      !ingredients.every((item) => typeof item === 'string' && item.trim() !== '' && item.length <= 60))
  ) {
    errors.push({ pointer: '/ingredients', detail: 'must be a list of 1-50 non-empty strings' });
  }
  if (errors.length === 0 && PATCH_FIELDS.every((field) => body[field] === undefined)) {
    errors.push({ pointer: '/', detail: `must set at least one of ${PATCH_FIELDS.join(', ')}` });
  }
  if (errors.length > 0) throw invalid(errors);
  const patch: RecipePatch = {};
  for (const field of PATCH_FIELDS) {
    if (body[field] !== undefined) Object.assign(patch, { [field]: body[field] });
  }
  return patch;
}

/** A recipe id from the path: a positive whole number. */
export function parseId(value: unknown): number {
  const id = typeof value === 'string' && /^[1-9]\d{0,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw invalid([{ pointer: 'id', detail: 'must be a positive whole number' }], 'path');
  return id;
}

/** `GET /recipes` query: `cuisine` (lower-case letters, optional) and `page` (1 when absent). */
export function parseListQuery(query: Request['query']): { cuisine: string | null; page: number } {
  const errors: FieldError[] = [];
  const { cuisine, page } = query;
  const cuisineValue = typeof cuisine === 'string' ? cuisine.toLowerCase() : cuisine;
  if (
    cuisineValue !== undefined &&
    cuisineValue !== '' &&
    (typeof cuisineValue !== 'string' || !CUISINE.test(cuisineValue))
  ) {
    errors.push({ pointer: 'cuisine', detail: 'must be 1-30 letters' });
  }
  const pageNumber =
    page === undefined || page === '' ? 1 : typeof page === 'string' && /^\d{1,5}$/.test(page) ? Number(page) : 0;
  if (pageNumber < 1) errors.push({ pointer: 'page', detail: 'must be a whole number from 1 to 99999' });
  if (errors.length > 0) throw invalid(errors, 'query string');
  return {
    cuisine: cuisineValue === undefined || cuisineValue === '' ? null : (cuisineValue as string),
    page: pageNumber,
  };
}
