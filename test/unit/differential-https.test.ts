import { describe, expect, it } from 'vitest';
import { differential, record, type Scenario } from './harness.js';
import { tagged } from './scenarios/index.js';

// Over TLS the request itself is secure (req.socket.encrypted): secure and sameSite 'auto',
// secure cookies and proxy settings must still agree.
describe('sessionkit and express-session agree over HTTPS', () => {
  const cookieScenarios = tagged('cookie', 'rolling').map((s) => ({ ...s, frameworks: undefined }));
  differential(cookieScenarios, 'https');

  it("'auto' means Secure and SameSite=None over TLS, even with proxy false", async () => {
    const auto: Scenario = { name: 'auto over TLS', tags: ['cookie', 'secure'], options: () => ({ proxy: false, cookie: { secure: 'auto', sameSite: 'auto' } }), steps: [{ path: '/set?a=1' }] };
    for (const lib of ['express-session', 'sessionkit'] as const) {
      const [step] = (await record(auto, lib, 'https')).steps;
      expect(step!.setCookie[0]).toMatch(/; Secure; SameSite=None$/);
    }
  });
});
