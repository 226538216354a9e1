// The README quick start, kept as a file so a test compiles and runs it; docs include it verbatim (import path aside).
import express from 'express';
import { aiCache, createRedis, queryCache, rateLimit, responseCache, sessions } from '../lib';

// Types req.session.user (needs @types/express-session, as any express-session app in TypeScript).
declare module 'express-session' {
  interface SessionData {
    user?: { id: number; name: string };
  }
}

// One ioredis client for every middleware: REDIS_URL, or REDIS_SENTINELS + REDIS_SENTINEL_NAME, or
// REDIS_CLUSTER_NODES. With none of them set it is undefined: everything runs in memory (one warning line).
const redis = createRedis.fromEnv();

// Stand-ins for your database and your model client.
const recipes = new Map([[1, { id: 1, title: 'Spaghetti Carbonara' }]]);
const callModel = async (input: { ingredients: string[] }) => ({ ideas: [`${input.ingredients.join(' & ')} stew`] });

const app = express();
app.use(express.json());

// Sessions in Redis under session:<id> (24 h); sessions.login() regenerates the id.
app.use(sessions({ redis, secret: process.env.SESSION_SECRET ?? 'a-long-random-secret-from-your-vault' }));
// Every route: 100/min, 1000/h, 10000/day per user (or IP), sliding windows, one round trip.
app.use(rateLimit({ redis, name: 'global', windows: { '1m': 100, '1h': 1000, '1d': 10_000 } }));

app.post('/login', async (req, res) => {
  const user = { id: 42, name: String(req.body.name) };
  await sessions.login(req, user);
  res.json({ user });
});
app.get('/me', (req, res) => {
  const user = req.session?.user; // typed by the SessionData declaration above
  if (user === undefined) res.status(401).json({ title: 'Unauthorized' });
  else res.json({ user });
});

// Query results cached under db:{recipes}:<hash>. Responses cached under api:{/recipes/%3Aid}:<hash>, with
// ETag and 304. A recipe reads the same for everyone, so ignoreCookies: true lets logged-in users (whose
// requests carry the session cookie) share the entry; without it a request with a cookie is not cached.
const queries = queryCache({ redis, ttl: '10m' });
app.get('/recipes/:id', responseCache({ redis, ttl: '5m', ignoreCookies: true }), async (req, res) => {
  const id = Number(req.params.id);
  const recipe = await queries.get(
    { tables: ['recipes'], sql: 'SELECT * FROM recipes WHERE id = ?', params: [id] },
    () => recipes.get(id),
  );
  if (recipe === undefined) res.status(404).json({ title: 'Not Found' });
  else res.json({ recipe });
});

// Each distinct question reaches the model once an hour (ai:chef-1:<hash>); 10/min per user on top.
const suggest = aiCache({ redis, model: 'chef-1', ttl: '1h' }, callModel);
app.post('/ai/suggest', rateLimit({ redis, windows: { '1m': 10, '1h': 100, '1d': 500 } }), async (req, res) => {
  res.json(await suggest({ ingredients: req.body.ingredients }));
});

const server = app.listen(Number(process.env.PORT ?? 3000));

// --- end of the README quick start ---
export { app, redis, server };
