// What the benchmark's app does on each path, apart from any framework: each route takes the
// request's session (undefined for a contender without one) and returns [status, body], so that
// every framework's server answers the same requests with the same bytes.
import { loginData } from './common.js';

let logins = 0;
let counter = 0;

export const routes = {
  // A logged-in session for the load generator: run.js logs in the sessions before a round.
  '/login': (session) => {
    Object.assign(session, loginData(++logins));
    return [200, 'logged in'];
  },
  // read: a logged-in session, used and left unmodified.
  '/read': (session) => {
    if (!session) return [200, 'hello User 1'];
    const user = session.user;
    return user ? [200, `hello ${user.name}`] : [401, 'no session'];
  },
  // write (and hot): a counter in the session, incremented by every request.
  '/write': (session) => {
    if (!session) return [200, `count ${++counter}`];
    if (!session.user) return [401, 'no session'];
    session.count = (session.count || 0) + 1;
    return [200, `count ${session.count}`];
  },
  // The counter as it stands, unmodified: what the hot scenario's writers left in the session.
  '/count': (session) => [200, String(session?.count ?? 0)],
  // new: no cookie; with saveUninitialized the middleware makes and saves a new session.
  '/new': () => [200, 'hello'],
};
