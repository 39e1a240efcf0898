// The CommonJS entry: `require('sessionkit')` is the middleware factory itself (with Store,
// MemoryStore, Cookie and Session attached), exactly as `require('express-session')` is, and
// it carries every other export of the ES entry too (the error classes), as `session.X`.
// A default export alone: the build's `cjsInterop` makes it `module.exports`, which source
// written as an ES module cannot assign without the bundler warning about it.
import session, * as api from './index.js';

Object.assign(session, api);

export default session;
