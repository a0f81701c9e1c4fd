// A tiny scripted "browser" for tests that drive the stand-in over HTTP without Chromium:
// follows redirects with a cookie jar, answers the sign-in / admin-consent pages.
import type { FakeBrowser, FollowOptions, Runtime } from './types.ts';

export class FakeEntraPageError extends Error {
  readonly status: number;
  readonly url: string;
  readonly body: string;

  constructor(message: string, status: number, url: string, body: string) {
    super(message);
    this.name = 'FakeEntraPageError';
    this.status = status;
    this.url = url;
    this.body = body;
  }
}

export class CookieJar implements FakeBrowser {
  readonly #cookies = new Map<string, string>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key = '', val = ''] = a.split('=');
        const k = key.trim().toLowerCase();
        return (k === 'max-age' && Number(val) <= 0) || (k === 'expires' && Date.parse(val) <= Date.now());
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string | undefined {
    return this.#cookies.size ? [...this.#cookies].map(([n, v]) => `${n}=${v}`).join('; ') : undefined;
  }
}

function describe(status: number, body: string): string {
  const text = body.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  const aadsts = /AADSTS\d+:[^<"\\]*/.exec(text)?.[0];
  return aadsts ? `HTTP ${status}: ${aadsts.trim()}` : `HTTP ${status}`;
}

export async function follow(rt: Runtime, start: string | URL, options: FollowOptions = {}): Promise<URL> {
  const origin = new URL(rt.url).origin;
  const jar = options.browser ?? new CookieJar();
  let url = new URL(start);
  let form: URLSearchParams | undefined;

  for (let hop = 0; hop < 30; hop += 1) {
    if (url.origin !== origin) return url;
    const headers: Record<string, string> = { accept: 'text/html,application/json' };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    const res = await fetch(url, form ? { method: 'POST', headers, body: form, redirect: 'manual' } : { headers, redirect: 'manual' });
    form = undefined;
    jar.store(res.headers.getSetCookie());

    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      continue;
    }
    const body = await res.text();
    if (res.status === 200 && /^\/[^/]+\/login\/[^/]+$/.test(url.pathname) && body.includes('data-page="permissions"')) {
      // "Permissions requested" (user consent): Accept, or Cancel
      form = new URLSearchParams({ decision: options.cancel ? 'cancel' : 'accept' });
      continue;
    }
    if (res.status === 200 && /^\/[^/]+\/login\/[^/]+$/.test(url.pathname)) {
      // with `as`, the account is picked and cancel answers the next page (permissions)
      if (options.cancel && !options.as) {
        url = new URL(`${url.pathname}/cancel`, url);
        form = new URLSearchParams();
        continue;
      }
      if (options.as) {
        form = new URLSearchParams({ oid: options.as });
        continue;
      }
      throw new FakeEntraPageError(`the sign-in page was shown (${url.pathname}): call setAutoLogin() or pass { as: oid }`, res.status, url.href, body);
    }
    if (res.status === 200 && /^\/[^/]+\/v2\.0\/adminconsent$/.test(url.pathname) && url.search) {
      form = new URLSearchParams(url.searchParams);
      form.set('decision', options.cancel ? 'cancel' : 'accept');
      url = new URL(url.pathname, url);
      continue;
    }
    throw new FakeEntraPageError(`stopped at ${url.pathname}: ${describe(res.status, body)}`, res.status, url.href, body);
  }
  throw new Error('fake-entra follow(): too many redirects');
}
