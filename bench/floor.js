// The floor: the least work any signed-cookie server-side session can do, so that a session
// library can be judged by what it costs beyond it. It reads and writes express-session's cookie
// (`connect.sid=s:<id>.<hmac>`), but keeps none of its behaviour beyond what a session must do:
// no store interface, no held end() waiting for a store, no rolling, touch or regenerate.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function floorSession({ secret, cookie: { maxAge } }) {
  const sessions = new Map(); // id -> { json, expires }
  const cookieRe = /(?:^|;)\s*connect\.sid=([^;]*)/;
  const sign = (id) => `${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`;
  const verify = (value) => {
    const dot = value.lastIndexOf('.');
    if (!value.startsWith('s:') || dot < 2) return undefined;
    const id = value.slice(2, dot);
    const expected = Buffer.from(sign(id));
    const given = Buffer.from(value.slice(2));
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
  };
  return (req, res, next) => {
    const raw = cookieRe.exec(req.headers.cookie ?? '')?.[1];
    let id = raw && verify(raw.includes('%') ? decodeURIComponent(raw) : raw);
    let entry = id ? sessions.get(id) : undefined;
    if (entry && entry.expires <= Date.now()) {
      sessions.delete(id);
      entry = undefined;
    }
    const isNew = !entry;
    if (isNew) id = randomBytes(24).toString('base64url');
    const loaded = entry?.json ?? '{}';
    const expires = Date.now() + maxAge;
    if (entry) entry.expires = expires;
    req.session = JSON.parse(loaded);
    const end = res.end;
    res.end = function (...args) {
      const json = JSON.stringify(req.session);
      if (json !== loaded) {
        sessions.set(id, { json, expires });
        const when = new Date(expires).toUTCString();
        res.setHeader('Set-Cookie', `connect.sid=${encodeURIComponent(`s:${sign(id)}`)}; Path=/; Expires=${when}; HttpOnly; SameSite=Lax`);
      }
      return end.apply(this, args);
    };
    next();
  };
}
