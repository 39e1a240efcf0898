// The CommonJS entry: `require('sessionkit')` is the middleware factory itself (with Store,
// MemoryStore, Cookie and Session attached), exactly as `require('express-session')` is.
// A default export alone: the build's `cjsInterop` makes it `module.exports`, which source
// written as an ES module cannot assign without the bundler warning about it.
import session from './index.js';

export default session;
