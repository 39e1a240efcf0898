/**
 * Every way a route can end a response (end, write, writeHead, Content-Length, HEAD,
 * other Set-Cookie headers, Express's own methods), with the session saved before it ends.
 */
import { view, type Route, type Scenario } from '../harness.js';
import { get, saveUninitialized } from './common.js';

const withResponse = (label: string, fn: (req: any, res: any, ctx: any) => unknown): Route => (req, res, ctx) => {
  const out = fn(req, res, ctx);
  ctx.log.push([label, out === res ? 'res' : out]);
};

/** Routes that end the response in every way node allows. */
export const responseRoutes: Record<string, Route> = {
  '/end-twice': (req, res, ctx) => {
    req.session.twice = true;
    ctx.log.push(res.end('first') === res ? 'res' : 'bool');
    ctx.log.push(res.end('second'));
  },
  '/end-null': withResponse('end(null)', (req, res) => {
    req.session.n = 1;
    return res.end(null);
  }),
  '/end-empty': withResponse('end()', (req, res) => {
    req.session.n = 1;
    return res.end();
  }),
  '/end-empty-string': withResponse("end('')", (req, res) => {
    req.session.n = 1;
    return res.end('');
  }),
  '/end-unmodified': withResponse('end(unmodified)', (_req, res) => res.end('plain')),
  '/chunked': (req, res, ctx) => {
    req.session.chunked = true;
    ctx.log.push(res.write('a'));
    ctx.log.push(res.write(Buffer.from('b')));
    res.end('c');
  },
  '/write-head': (req, res) => {
    req.session.head = true;
    res.writeHead(201, { 'X-Test': 'yes', 'Content-Type': 'text/plain' });
    res.end('written');
  },
  '/write-head-array': (req, res) => {
    req.session.head = true;
    res.writeHead(200, ['X-Test', 'array', 'Content-Type', 'text/plain']);
    res.end('written');
  },
  '/write-head-then-change': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    req.session.late = 'after headers';
    res.end('late');
  },
  '/content-length': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '5');
    res.end('hello');
  },
  '/content-length-buffer': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '4');
    res.end(Buffer.from('ébc'));
  },
  '/content-length-latin1': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '3');
    res.end('héb', 'latin1');
  },
  '/content-length-zero': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '0');
    res.end('');
  },
  '/other-set-cookie': (req, res) => {
    req.session.n = 1;
    res.setHeader('Set-Cookie', 'other=1; Path=/');
    res.end('two cookies');
  },
  '/other-set-cookies': (req, res) => {
    req.session.n = 1;
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end('three cookies');
  },
  '/write-head-set-cookie': (req, res) => {
    req.session.n = 1;
    res.writeHead(200, { 'Set-Cookie': 'head=1' });
    res.end('from writeHead');
  },
  '/end-callback': (req, res, ctx) => {
    req.session.n = 1;
    try {
      res.end(() => ctx.log.push('end callback'));
    } catch (err) {
      ctx.log.push(`threw: ${(err as Error).message}`);
      if (!res.writableEnded) res.end();
    }
  },
  '/end-chunk-callback': (req, res, ctx) => {
    req.session.n = 1;
    res.end('body', () => ctx.log.push('end callback'));
  },
  '/end-chunk-encoding-callback': (req, res, ctx) => {
    req.session.n = 1;
    res.end('626f6479', 'hex', () => ctx.log.push('end callback'));
  },
  '/write-then-change': (req, res) => {
    res.write('early ');
    req.session.late = 'after the first write';
    res.end('late');
  },
  '/write-head-status-message': (req, res) => {
    req.session.n = 1;
    res.writeHead(202, 'Accepted Nicely', { 'X-Test': 'message' });
    res.end('ok');
  },
  '/flush-headers': (req, res) => {
    req.session.n = 1;
    res.flushHeaders();
    res.end('flushed');
  },
  '/async': async (req, res) => {
    await new Promise((r) => setTimeout(r, 5));
    req.session.later = true;
    res.end(view(req));
  },
};

/** Express's own response methods, which end responses in their own ways. */
const expressRoutes: Record<string, Route> = {
  '/send': (req, res) => {
    req.session.via = 'send';
    res.send('sent with a Content-Length');
  },
  '/json': (req, res) => {
    req.session.via = 'json';
    res.json({ ok: true });
  },
  '/redirect': (req, res) => {
    req.session.via = 'redirect';
    res.redirect('/view');
  },
  '/no-content': (req, res) => {
    req.session.via = 'sendStatus';
    res.sendStatus(204);
  },
  '/not-modified': (_req, res) => res.status(304).end(),
  '/send-buffer': (req, res) => {
    req.session.via = 'buffer';
    res.send(Buffer.from('bytes'));
  },
};

/** Each route three times (new session, loaded session, no cookie), on both saveUninitialized values. */
export const responseScenarios: Scenario[] = [
  ...[false, true].map((saveUninit): Scenario => ({
    name: `ways to end a response (saveUninitialized ${saveUninit})`,
    tags: ['responses'],
    options: saveUninitialized(saveUninit),
    routes: responseRoutes,
    steps: Object.keys(responseRoutes).flatMap((path) => [get(path), get(path), get(path, { cookie: false })]),
  })),
  {
    name: 'HEAD requests',
    tags: ['responses'],
    options: saveUninitialized(true),
    routes: responseRoutes,
    steps: [
      get('/', { method: 'HEAD' }),
      get('/set?a=1', { method: 'HEAD' }),
      get('/view', { method: 'HEAD' }),
      get('/content-length', { method: 'HEAD' }),
    ],
  },
  {
    name: 'responses with a Content-Length for a loaded session with resave',
    tags: ['responses'],
    options: () => ({ resave: true }),
    routes: responseRoutes,
    steps: [get('/set?a=1'), get('/content-length'), get('/content-length-buffer'), get('/content-length-zero')],
  },
  {
    name: 'asynchronous handlers',
    tags: ['responses'],
    routes: responseRoutes,
    steps: [get('/async'), get('/async'), get('/view')],
  },
  ...[false, true].map((saveUninit): Scenario => ({
    name: `Express response methods (saveUninitialized ${saveUninit})`,
    tags: ['responses', 'express'],
    frameworks: ['express5', 'express4'],
    options: saveUninitialized(saveUninit),
    routes: expressRoutes,
    steps: Object.keys(expressRoutes).flatMap((path) => [get(path), get(path), get(path, { method: 'HEAD' })]),
  })),
];
