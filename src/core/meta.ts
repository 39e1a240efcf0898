import type { SessionRecord } from './store.js';

/**
 * What sessionkit keeps of a session beside the app's data, under one key of the stored record
 * (or inside the seal): when it was created, when it was last seen, and, when the app opts in,
 * the device it came from. Written only when a feature needs it (timeouts, rotation, devices,
 * a store's user index), so that a default record stays exactly what express-session writes.
 * The app never sees it on req.session; stores read it for their user index and limits.
 */
export const META_KEY = '_sessionkit';

export interface SessionMeta {
  /** When the session was created (ms since the epoch). Kept across `regenerate({ keepData: true })` and rotation. */
  created: number;
  /** When a request last came with it (ms), updated no more often than `touchAfter` allows. */
  seen: number;
  /** When its ID was last rotated (ms); absent until the first rotation. */
  rotated?: number;
  /** The user agent of the request that created it, when the `devices` option asks for it. */
  ua?: string;
  /** The client IP of the request that created it (or last saw it), when the `devices` option asks for it. */
  ip?: string;
  /**
   * Set on the record left behind by a rotation: the session's new ID. A request still carrying
   * the old ID within the grace window is served the session under its new ID.
   */
  movedTo?: string;
}

/** The meta of a stored record, or undefined when it has none or it is malformed. */
export function metaOf(record: SessionRecord | null | undefined): SessionMeta | undefined {
  const meta = record?.[META_KEY] as unknown;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Partial<SessionMeta>;
  if (typeof m.created !== 'number' || typeof m.seen !== 'number' ||
      !Number.isFinite(m.created) || !Number.isFinite(m.seen)) return undefined;
  return m as SessionMeta;
}

/** The lifecycle options both session kinds take (all in milliseconds). */
export interface LifecycleOptions {
  absoluteTimeout?: number;
  idleTimeout?: number;
  /** `touchAfter` in seconds, as the option is given: the least time between two refreshes of `seen`. */
  touchAfter?: number;
}

/** Why a session has ended by its meta, or undefined while it is alive. */
export function timedOut(meta: SessionMeta | undefined, now: number, options: LifecycleOptions): 'absolute' | 'idle' | undefined {
  if (!meta) return undefined;
  if (options.absoluteTimeout !== undefined && now - meta.created >= options.absoluteTimeout) return 'absolute';
  if (options.idleTimeout !== undefined && now - meta.seen > options.idleTimeout) return 'idle';
  return undefined;
}

/** The default least time between two refreshes of `seen` when `touchAfter` is not set. */
export const SEEN_EVERY = 60_000;

/**
 * Whether `seen` is old enough to be written again: no more often than `touchAfter` allows (a
 * minute when it is not set), and often enough that `idleTimeout` ends no active session (a
 * tenth of it at most).
 */
export function seenIsStale(meta: SessionMeta, now: number, options: LifecycleOptions): boolean {
  let every = options.touchAfter !== undefined ? options.touchAfter * 1000 : SEEN_EVERY;
  if (options.idleTimeout !== undefined) every = Math.min(every, options.idleTimeout / 10);
  return now - meta.seen >= every;
}

/** Fails with a TypeError naming the option when a lifecycle duration is not a positive finite number of ms. */
export function checkDuration(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} option must be a positive number of milliseconds, got ${String(value)}`);
  }
}

/** The `devices` option: what of the device to keep in the meta. */
export type DevicesOption = boolean | { userAgent?: boolean; ip?: boolean };

interface DeviceRequest {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  socket?: unknown;
}

/** The device fields the `devices` option asks for, read off a request. */
export function deviceOf(req: DeviceRequest, devices: DevicesOption | undefined, trustProxy: boolean | undefined): Pick<SessionMeta, 'ua' | 'ip'> {
  if (!devices) return {};
  const wantUa = devices === true || devices.userAgent !== false;
  const wantIp = devices === true || devices.ip !== false;
  const out: Pick<SessionMeta, 'ua' | 'ip'> = {};
  if (wantUa) {
    const ua = req.headers['user-agent'];
    if (typeof ua === 'string' && ua) out.ua = ua.slice(0, 256);
  }
  if (wantIp) {
    let ip: string | undefined;
    if (trustProxy === true) {
      const forwarded = req.headers['x-forwarded-for'];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
      if (first) ip = first;
    }
    ip ??= typeof req.ip === 'string' && req.ip ? req.ip : (req.socket as { remoteAddress?: string } | undefined)?.remoteAddress;
    if (ip) out.ip = ip.slice(0, 64);
  }
  return out;
}
