// Scenario (peer): apicache hit, as its README's quick start (in-memory; apicache's Redis mode needs a node_redis v3 client).
import apicache from 'apicache';
import express from 'express';
import { listen, PAYLOAD } from './common';

const app = express();
app.get('/data', apicache.middleware('5 minutes'), (_req, res) => {
  res.json(PAYLOAD);
});
listen(app);
