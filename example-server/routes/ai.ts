// POST /ai/suggest: recipe ideas from the (cached, rate-limited) stand-in model.
import { type RequestHandler, Router } from 'express';
import type { SuggestInput, SuggestOutput } from '../model';
import { parseSuggest } from '../validate';

export interface AiDeps {
  /** The model call, wrapped by aiCache. */
  suggest(input: SuggestInput): Promise<SuggestOutput>;
  /** The stricter limiter of this route. */
  limit: RequestHandler;
}

export function aiRoutes(deps: AiDeps): Router {
  const router = Router();
  router.post('/ai/suggest', deps.limit, async (req, res) => {
    const input = parseSuggest(req);
    const output = await deps.suggest(input);
    res.set('Cache-Control', 'no-store');
    res.json({ ingredients: input.ingredients, ...output });
  });
  return router;
}
