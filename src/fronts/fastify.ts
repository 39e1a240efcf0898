import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import { SessionEventHub, type SessionEventSource } from '../core/events.js';
import { FrontSession, SessionKind, type FrontOptions, type SessionObject } from './hooks.js';

export type { FrontOptions, SessionObject };
export type { SessionEvents, SessionEventName, SessionEventSource } from '../core/events.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's session: its data, and the methods of `req.session` (each with a Promise form). */
    session: SessionObject;
  }
}

const kFront = Symbol('sessionkit.front');
/** The events of every app the plugin is registered on: `session.on('expired', listener)`. */
const hub = new SessionEventHub();
type Request = FastifyRequest & { [kFront]: FrontSession | null | undefined };

/**
 * Sessions for Fastify: `app.register(session, { secret, store, resave: false, saveUninitialized: false })`,
 * then `request.session` in every route. Opened in `onRequest`, saved in `onSend` before the
 * reply goes out; a change the store did not take becomes Fastify's error reply. The cookie is
 * read from the Cookie header and set by appending Set-Cookie, so it works with or without
 * @fastify/cookie. `{ sealed: true, secret }` keeps the whole session in the cookie instead.
 * The plugin has the sessions' events (of every registration): `session.on('expired', listener)`.
 */
const plugin: FastifyPluginCallback<FrontOptions> = function sessionkit(fastify: FastifyInstance, options, done) {
  let kind: SessionKind;
  try {
    kind = new SessionKind(options, hub);
  } catch (err) {
    done(err as Error);
    return;
  }
  fastify.decorateRequest(kFront, null);
  fastify.decorateRequest('session', {
    getter(this: FastifyRequest) {
      return (this as Request)[kFront]?.session as SessionObject;
    },
    setter(this: FastifyRequest, value: unknown) {
      const front = (this as Request)[kFront];
      if (front) front.session = value;
    },
  });
  fastify.addHook('onRequest', async (request, reply) => {
    const raw = request.raw;
    (request as Request)[kFront] = await kind.open(
      { headers: raw.headers, url: raw.url ?? '/', socket: raw.socket, secure: request.protocol === 'https' },
      () => reply.statusCode,
      (err) => request.log.error({ err }, 'sessionkit: the store failed after the reply was decided'),
    );
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    const front = (request as Request)[kFront];
    if (!front) return payload;
    // An error reply (this one failing) runs onSend again: it carries no session.
    (request as Request)[kFront] = null;
    const cookies = await front.commit();
    if (cookies.length > 0) reply.header('set-cookie', cookies);
    return payload;
  });
  done();
};

// What fastify-plugin marks: the hooks and `request.session` apply to the whole app, not an encapsulated child.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sessionkit',
  [Symbol.for('plugin-meta')]: { name: 'sessionkit', fastify: '>=4' },
});

const session: FastifyPluginCallback<FrontOptions> & SessionEventSource = hub.attach(plugin);

export { session };
export default session;
