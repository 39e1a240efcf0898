/**
 * The session methods: regenerate, destroy, reload, save, touch, resetMaxAge, and changes
 * to the cookie from a route.
 */
import { NOW, view, type Route, type Scenario } from '../harness.js';
import { get, minute } from './common.js';

/** Routes that exercise the session methods, callback style (as express-session code is written). */
export const methodRoutes: Record<string, Route> = {
  '/regenerate': (req, res, ctx) => {
    const before = req.sessionID;
    req.session.regenerate((err: any) => {
      ctx.log.push(['regenerated', err ? err.message : null, req.sessionID !== before]);
      if (req.session) req.session.after = 'regen';
      res.end(view(req));
    });
  },
  '/destroy': (req, res, ctx) => {
    req.session.destroy((err: any) => {
      ctx.log.push(['destroyed', err ? err.message : null, req.session === undefined]);
      res.end(view(req));
    });
  },
  '/reload': (req, res, ctx) => {
    req.session.local = 'lost on reload';
    const reload = () => req.session.reload((err: any) => {
      ctx.log.push(['reloaded', err ? err.message : null]);
      res.end(view(req));
    });
    // Another request changes the stored session meanwhile.
    ctx.store.get(req.sessionID, (_err: unknown, stored: any) => {
      if (!stored) return reload();
      ctx.store.set(req.sessionID, { ...stored, fromStore: 'changed elsewhere' }, reload);
    });
  },
  '/save': (req, res, ctx) => {
    req.session.saved = 'yes';
    req.session.save((err: any) => {
      ctx.log.push(['saved', err ? err.message : null]);
      res.end(view(req));
    });
  },
  '/save-then-change': (req, res) => {
    req.session.first = 1;
    req.session.save(() => {
      req.session.second = 2;
      res.end(view(req));
    });
  },
  '/save-no-callback': (req, res) => {
    req.session.fire = 'and forget';
    req.session.save();
    res.end(view(req));
  },
  '/touch': (req, res) => {
    req.session.touch();
    res.end(view(req));
  },
  '/reset-max-age': (req, res) => {
    req.session.resetMaxAge();
    res.end(view(req));
  },
  '/max-age': (req, res) => {
    req.session.cookie.maxAge = 5 * minute;
    res.end(view(req));
  },
  '/expires-null': (req, res) => {
    req.session.cookie.expires = null;
    req.session.data = 'x';
    res.end(view(req));
  },
  '/expires-date': (req, res) => {
    req.session.cookie.expires = new Date(NOW + 3 * minute);
    res.end(view(req));
  },
  '/unset-null': (req, res) => {
    req.session = null;
    res.end('unset');
  },
  '/unset-delete': (req, res) => {
    delete req.session;
    res.end('deleted');
  },
  '/regenerate-save': (req, res) => {
    req.session.regenerate(() => {
      req.session.user = 'alice';
      req.session.save(() => res.end(view(req)));
    });
  },
  '/delete-key': (req, res) => {
    delete req.session.a;
    res.end(view(req));
  },
  '/same-value': (req, res) => {
    req.session.a = String(req.session.a);
    res.end(view(req));
  },
};

/** Every method under three option sets, and a reload of a session that is gone. */
export const methodScenarios: Scenario[] = [
  ...[
    { resave: false, saveUninitialized: false },
    { resave: true, saveUninitialized: true },
    { resave: false, saveUninitialized: true, rolling: true, cookie: { maxAge: 10 * minute } },
  ].map((options): Scenario => ({
    name: `session methods with ${JSON.stringify(options)}`,
    tags: ['methods'],
    options: () => options,
    routes: methodRoutes,
    steps: [
      get('/regenerate'),
      get('/set?a=1'),
      get('/regenerate'),
      get('/view'),
      get('/save'),
      get('/save-then-change'),
      get('/save-no-callback'),
      get('/reload'),
      get('/view'),
      get('/touch', { advance: 1000 }),
      get('/reset-max-age', { advance: 1000 }),
      get('/max-age'),
      get('/expires-date'),
      get('/expires-null'),
      get('/regenerate-save'),
      get('/view'),
      get('/destroy'),
      get('/view'),
      get('/reload'),
      get('/destroy'),
    ],
  })),
  {
    name: 'reload of a session that is gone',
    tags: ['methods'],
    routes: {
      '/reload-gone': (req, res, ctx) => {
        ctx.store.destroy(req.sessionID, () => req.session.reload((err: any) => {
          ctx.log.push(['reload', err?.message ?? null]);
          res.end(view(req));
        }));
      },
    },
    steps: [get('/set?a=1'), get('/reload-gone'), get('/view')],
  },
];
