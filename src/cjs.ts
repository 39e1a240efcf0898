// The CommonJS entry: `require('sessionkit')` is the middleware factory itself (with Store,
// MemoryStore, Cookie and Session attached), exactly as `require('express-session')` is.
import session from './index.js';

module.exports = session;
