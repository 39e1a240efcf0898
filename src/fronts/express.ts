import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import onHeaders from 'on-headers';
import type { Hold, RequestSession, SessionResponse, Stored } from '../core/lifecycle.js';
import { validateOptions, type SessionOptions } from '../core/options.js';
import { sessionCookieOptions, type Next, type SessionRequest } from '../core/request.js';
import { toKeys } from '../core/signature.js';
import type { StoreContract } from '../core/store.js';
import { SecretRequiredError } from '../errors.js';
import { storeConnection, StoreLifecycle, storeSettings } from '../persist/store.js';
import { MemoryStore, warnIfUnboundedInProduction } from '../stores/memory.js';

type Req = IncomingMessage & SessionRequest & { secret?: string };
type Res = ServerResponse & { _implicitHeader?: () => void };
/** The response's own write() and end(), called with what the handler passed. */
type Writer = (this: ServerResponse, chunk?: unknown, encoding?: BufferEncoding) => unknown;

/** What the session middlewares are: Express's `RequestHandler` shape, without depending on Express. */
export type SessionMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * The session middleware: `app.use(session({ secret, resave, saveUninitialized }))`.
 * Same options, defaults, cookie and stored records as express-session.
 */
export function session(options?: SessionOptions | null): SessionMiddleware {
  const opts = validateOptions(options ?? {});
  const store = (opts.store || new MemoryStore()) as StoreContract;
  warnIfUnboundedInProduction(store);

  const settings = storeSettings(opts, store);
  const keys = toKeys(opts.secret);

  const storeReady = storeConnection(store);

  // cookie-parser's secret (req.secret) is the same on every request: its key is prepared once.
  let parserSecret: string | undefined;
  let parserKeyList: KeyObject[] | undefined;
  const parserKeys = (secret: string | undefined): KeyObject[] | undefined => {
    if (!secret) return undefined;
    if (secret !== parserSecret) {
      parserKeyList = toKeys(secret);
      parserSecret = secret;
    }
    return parserKeyList;
  };

  return settings.hub.attach(function sessionMiddleware(req: Req, res: Res, next: Next): void {
    if (req.session || !storeReady()) {
      next();
      return;
    }
    const cookieOptions = sessionCookieOptions(req, settings.cookie);
    if (!cookieOptions) {
      next();
      return;
    }
    const requestKeys = keys ?? parserKeys(req.secret);
    if (!requestKeys) {
      next(new SecretRequiredError());
      return;
    }
    const report = (err: unknown) => setImmediate(next, err);
    const life = new StoreLifecycle(settings, req, expressResponse(res), requestKeys, cookieOptions, report);
    drive(life, res, next);
  });
}

/**
 * Runs a session's lifecycle on an Express (or Connect, or node:http) response: the cookie when
 * the head goes out, the end held while the store answers, then the handler.
 */
export function drive(life: RequestSession, res: ServerResponse, next: Next): void {
  new HeldEnd(life, res as Res, next);
  life.open(next);
}

/** The Set-Cookie header of an Express response, with the session's own values replaced as a whole. */
export function expressResponse(res: ServerResponse): SessionResponse {
  return new ExpressResponse(res);
}

class ExpressResponse implements SessionResponse {
  /** The Set-Cookie values this session set, replaced as a whole by the next call. */
  private mine: string[] | undefined = undefined;

  constructor(private readonly res: ServerResponse) {}

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get statusCode(): number {
    return this.res.statusCode;
  }

  setCookies(headers: string[]): void {
    const { res, mine } = this;
    if (headers.length === 0 && mine === undefined) return;
    const prev = res.getHeader('Set-Cookie');
    this.mine = headers.length === 0 ? undefined : headers;
    if (prev === undefined && headers.length === 1) {
      // The usual case: the session's cookie is the only one.
      res.setHeader('Set-Cookie', [headers[0]!]);
      return;
    }
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    const others = mine === undefined ? list : list.filter((header) => !mine.includes(header));
    res.setHeader('Set-Cookie', others.concat(headers));
  }
}

/** Where a hooked response keeps its HeldEnd: the shared writeHead and end find it there. */
const kHeld = Symbol('sessionkit.heldEnd');
type Hooked = Res & { [kHeld]: HeldEnd };
type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/**
 * The response's writeHead() while a session is attached: the session's cookie is set just
 * before the head goes out, as on-headers does for express-session. One function for every
 * response (no closure per request); the implicit head (`writeHead(statusCode)`, which is how
 * Express and Node write it) is served here, and the forms that carry headers in the call go
 * through on-headers itself, so that those headers are on the response when the cookie is set.
 */
function writeHead(this: Hooked, statusCode: unknown, ...rest: unknown[]): ServerResponse {
  const held = this[kHeld];
  const prev = held.realWriteHead;
  if (rest.length !== 0) {
    const first = !held.headFired;
    held.headFired = true;
    const wrapper = { writeHead: prev };
    onHeaders(wrapper as unknown as ServerResponse, first ? () => held.life.sendCookies() : noop);
    return (wrapper.writeHead as WriteHead).call(this, statusCode, ...rest);
  }
  this.statusCode = statusCode as number;
  if (held.headFired) return prev.call(this, statusCode);
  held.headFired = true;
  held.life.sendCookies();
  // The listener may have changed the status (as on-headers passes it along).
  return prev.call(this, typeof statusCode === 'number' ? this.statusCode : statusCode);
}

function noop(): void {}

/** The response's end() while a session is attached. */
function end(this: Hooked, chunk?: unknown, encoding?: BufferEncoding): unknown {
  return this[kHeld].end(chunk, encoding);
}

/**
 * The response's end(), held back until the session is saved, touched or destroyed, while the
 * head and body are written at once into the corked socket: the one place
 * sessionkit patches a response, because Express has no hook after the handler. It also hooks
 * writeHead, for the session's cookie.
 */
class HeldEnd {
  readonly realWriteHead: WriteHead;
  private readonly realEnd: Writer;
  private readonly realWrite: Writer;
  headFired = false;
  private ended = false;
  /** What end() was called with, written once the store answers. */
  private chunk: unknown = undefined;
  private encoding: BufferEncoding | undefined = undefined;
  /** The whole response is held, head included, and a failed store answer becomes the error response. */
  private heldAll = false;
  /** null while finish() runs: a store answering within it is kept here until finish() returns. */
  private early: { err: unknown } | null | undefined = undefined;
  /** Nothing of the held end is written yet; `result` is what end() returns. */
  private nothingWritten = true;
  private result: unknown;

  constructor(
    readonly life: RequestSession,
    private readonly res: Res,
    private readonly next: Next,
  ) {
    this.realWriteHead = res.writeHead as WriteHead;
    this.realEnd = res.end as Writer;
    this.realWrite = res.write as Writer;
    (res as Hooked)[kHeld] = this;
    res.writeHead = writeHead as Res['writeHead'];
    res.end = end as Res['end'];
  }

  /** The response's end(): persist with the end held, or end now. */
  end(chunk: unknown, encoding: BufferEncoding | undefined): unknown {
    const { res } = this;
    if (this.ended) return false;
    this.ended = true;
    this.chunk = chunk;
    this.encoding = encoding;
    let hold: Hold;
    this.early = null;
    try {
      hold = this.life.finish(this.stored);
    } catch (err) {
      // The session cannot be kept (a seal too large): this response is not sent.
      this.answerWithError(err);
      return res;
    }
    const early = this.early as { err: unknown } | null;
    this.early = undefined;
    if (hold === false) return this.realEnd.call(res, chunk, encoding);
    // Nothing goes out before the store answers, so the status can still become an error. A
    // body that write() refuses (end(callback), as express-session treats it) is written now,
    // so that it throws to the handler as there.
    this.heldAll = hold === 'all' && !res.headersSent && (chunk == null || typeof chunk === 'string' || chunk instanceof Uint8Array);
    if (early) {
      // A store that answers at once: the whole response is written by the real end().
      this.answer(early.err, false);
      return this.result;
    }
    if (!this.heldAll) return this.writeTop();
    this.result = true;
    return true;
  }

  /** The store answered (a save, touch or destroy at the end): the held end is written. */
  private readonly stored: Stored = (err, whole) => {
    if (this.early === null) {
      // Answered during finish(), before it said what it holds: handled once it has.
      this.early = { err };
      return;
    }
    // Written as when only the end was held, so the response is framed the same either way.
    this.answer(err, this.heldAll && !whole);
  };

  private answer(err: unknown, writeTop: boolean): void {
    if (err) {
      if (this.heldAll && !this.res.headersSent) {
        this.answerWithError(err);
        return;
      }
      setImmediate(this.next, err);
    }
    if (writeTop && !this.res.headersSent) this.writeTop();
    this.writeEnd();
  }

  /**
   * What the handler wrote is dropped, and the app's error handler answers instead, through the
   * response's own end.
   */
  private answerWithError(err: unknown): void {
    this.res.end = this.realEnd as Res['end'];
    setImmediate(this.next, err);
  }

  /**
   * Writes the head and the body, corked, and returns what end() returns: the final end() in
   * `writeEnd` uncorks, so nothing of the response reaches the client before the store answered
   * (express-session holds back the body's last byte for that; the cork holds all of it, even
   * for a response queued behind another on the connection, and the socket gets one write).
   */
  private writeTop(): unknown {
    const res = this.res;
    if (!this.nothingWritten) return this.result;
    res.cork();
    if (!res.headersSent) res._implicitHeader?.();
    const { chunk } = this;
    if (chunk == null) {
      this.result = true;
      return true;
    }
    this.result = this.realWrite.call(res, chunk, this.encoding);
    this.nothingWritten = false;
    return this.result;
  }

  private writeEnd(): void {
    if (this.nothingWritten) {
      // The store answered before writeTop ran: the whole response is written by the real end().
      this.result = this.realEnd.call(this.res, this.chunk, this.encoding);
      this.nothingWritten = false;
      return;
    }
    this.realEnd.call(this.res);
  }
}
