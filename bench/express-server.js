// The server of every contender that is an Express middleware: an Express 5 app with the
// contender's middleware in front of the benchmark's routes.
import express from 'express';
import { routes } from './routes.js';

export async function expressServer({ middleware }) {
  const app = express();
  if (middleware) app.use(middleware);
  for (const [path, route] of Object.entries(routes)) {
    app.get(path, (req, res) => {
      const [status, body] = route(middleware ? req.session : undefined);
      res.status(status).send(body);
    });
  }
  return app;
}
