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
  onHeaders(res, () => life.sendCookies());
  new HeldEnd(life, res as Res, next);
  life.open(next);
}

/** The Set-Cookie header of an Express response, with the session's own values replaced as a whole. */
export function expressResponse(res: ServerResponse): SessionResponse {
  let mine: string[] = [];
  return {
    get headersSent() {
      return res.headersSent;
    },
    get statusCode() {
      return res.statusCode;
    },
    setCookies(headers) {
      if (headers.length === 0 && mine.length === 0) return;
      const prev = res.getHeader('Set-Cookie');
      const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
      const others = mine.length === 0 ? list : list.filter((header) => !mine.includes(header));
      mine = headers;
      res.setHeader('Set-Cookie', others.concat(headers));
    },
  };
}

/**
 * The response's end(), held back until the session is saved, touched or destroyed, while the
 * body (all but its last byte, when a Content-Length is set) is written at once: the one place
 * sessionkit patches a response, because Express has no hook after the handler.
 */
class HeldEnd {
  private readonly realEnd: Writer;
  private readonly realWrite: Writer;
  private ended = false;
  /** What end() was called with, written once the store answers. */
  private last: { chunk: unknown; encoding: BufferEncoding | undefined } = { chunk: undefined, encoding: undefined };
  /** The whole response is held, head included, and a failed store answer becomes the error response. */
  private heldAll = false;
  /** null while finish() runs: a store answering within it is kept here until finish() returns. */
  private early: { err: unknown } | null | undefined = undefined;
  /** Nothing of the held end is written yet; `result` is what end() returns. */
  private nothingWritten = true;
  private result: unknown;

  constructor(
    private readonly life: RequestSession,
    private readonly res: Res,
    private readonly next: Next,
  ) {
    this.realEnd = res.end as Writer;
    this.realWrite = res.write as Writer;
    const self = this;
    res.end = function end(this: Res, chunk?: unknown, encoding?: BufferEncoding): unknown {
      return self.end(chunk, encoding);
    } as Res['end'];
  }

  /** The response's end(): persist with the end held, or end now. */
  private end(chunk: unknown, encoding: BufferEncoding | undefined): unknown {
    const { res } = this;
    if (this.ended) return false;
    this.ended = true;
    this.last = { chunk, encoding };
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

  /** Writes the head and all of the body but what `writeEnd` writes; returns what end() returns. */
  private writeTop(): unknown {
    const res = this.res;
    if (!this.nothingWritten) return this.result;
    // Held until the final end(), which uncorks: one write to the socket per response
    // even when the store answers on a later turn.
    res.cork();
    if (!res.headersSent) res._implicitHeader?.();
    let { chunk, encoding } = this.last;
    if (chunk == null) {
      this.result = true;
      return true;
    }
    const contentLength = Number(res.getHeader('Content-Length'));
    if (!isNaN(contentLength) && contentLength > 0) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding);
      chunk = bytes;
      encoding = undefined;
      if (bytes.length !== 0) {
        this.result = this.realWrite.call(res, bytes.subarray(0, bytes.length - 1));
        this.last = { chunk: bytes.subarray(bytes.length - 1, bytes.length), encoding };
        return this.result;
      }
    }
    this.result = this.realWrite.call(res, chunk, encoding);
    this.nothingWritten = false;
    return this.result;
  }

  private writeEnd(): void {
    if (this.nothingWritten) {
      // The store answered before writeTop ran: the whole response is written by the real end().
      this.result = this.realEnd.call(this.res, this.last.chunk, this.last.encoding);
      this.nothingWritten = false;
      return;
    }
    this.realEnd.call(this.res);
  }
}
