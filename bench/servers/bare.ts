// Scenario: bare Express answering the ~1 KB JSON (the baseline every ratio is taken against).
import express from 'express';
import { listen, PAYLOAD } from './common';

const app = express();
app.get('/data', (_req, res) => {
  res.json(PAYLOAD);
});
listen(app);
