import { debuglog } from 'node:util';

/**
 * Why a cookie or a record was set aside, and when a save met a conflict: one line each, off by
 * default, on with `NODE_DEBUG=sessionkit`.
 */
export const debug = debuglog('sessionkit');
