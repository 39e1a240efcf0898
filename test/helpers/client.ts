/** A browser's cookies for one site, as far as these tests need them; `at()` takes them to another server. */
export class Client {
  readonly jar = new Map<string, string>();
  constructor(public base: string) {}

  async call(path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown>; cookies: string[] }> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(this.base + path, { method, headers: cookie ? { cookie } : {} });
    const cookies = res.headers.getSetCookie();
    for (const header of cookies) {
      const [pair] = header.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body, cookies };
  }

  /** A copy with the same cookies: another tab, or the same browser at `base`. */
  fork(base = this.base): Client {
    const other = new Client(base);
    for (const [k, v] of this.jar) other.jar.set(k, v);
    return other;
  }

  /** The same cookies, sent to another server from now on. */
  at(base: string): this {
    this.base = base;
    return this;
  }
}
