/**
 * Test helpers for the local sign-in flow: a cookie-keeping client for one host of
 * a test gateway, form and page scraping, TOTP codes at the gateway's clock, and
 * accounts created through the same API the CLI uses.
 */
import assert from 'node:assert/strict';
import type { TestGateway } from '../../support/gateway.ts';
import { createLocalUser } from '../../../src/auth/password/users.ts';
import { enrolTotp } from '../../../dev/seed.ts';
import { currentTotpCode } from '../../../src/auth/totp/totp.ts';
import type { User } from '../../../src/store/types.ts';

export interface Page {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly location: string | null;
}

/** A browser for one host: keeps cookies, sends forms, does not follow redirects. */
export class Client {
  readonly cookies = new Map<string, string>();
  readonly gw: TestGateway;
  readonly host: string;
  constructor(gw: TestGateway, host: string) {
    this.gw = gw;
    this.host = host;
  }

  get cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async send(method: 'GET' | 'POST', path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    const cookie = this.cookies.size > 0 ? this.cookie : undefined;
    const all = { accept: 'text/html', ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers };
    const payload = form ? new URLSearchParams(form).toString() : undefined;
    // a gateway built for inject() (no socket) is driven through Fastify's inject
    const res =
      this.gw.transport === 'inject'
        ? await this.gw.inject(this.host, path, { method, ...(cookie ? { cookie } : {}), headers: all, ...(payload !== undefined ? { body: payload } : {}) })
        : await this.gw.request(this.host, path, { method, cookie, headers: all, body: payload }).then(async (r) => ({
            statusCode: r.statusCode,
            headers: r.headers,
            body: await r.body.text(),
          }));
    const body = res.body;
    const setCookie = res.headers['set-cookie'];
    for (const c of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair = '', ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a)) || pair.slice(eq + 1) === '';
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    const location = res.headers.location;
    return { status: res.statusCode, headers: res.headers, body, location: typeof location === 'string' ? location : null };
  }

  get(path: string, headers?: Record<string, string>): Promise<Page> {
    return this.send('GET', path, undefined, headers);
  }

  post(path: string, form: Record<string, string>): Promise<Page> {
    return this.send('POST', path, form);
  }
}

export function csrfOf(body: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(body);
  assert.ok(m, 'page has a CSRF field');
  return m[1] as string;
}

/** The TOTP key shown on the enrolment page. */
export function secretOf(body: string): string {
  const m = /id="totp-secret">([A-Z2-7 ]+)</.exec(body);
  assert.ok(m, 'enrolment page shows the key');
  return (m[1] as string).replace(/ /g, '');
}

export function recoveryCodesOf(body: string): string[] {
  return [...body.matchAll(/<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})<\/li>/g)].map((m) => m[1] as string);
}

/** The alert text of a page, or null. */
export function alertOf(body: string): string | null {
  return /<div class="alert [a-z]+" role="[a-z]+">([^<]*)<\/div>/.exec(body)?.[1] ?? null;
}

/** The TOTP code for `secret` at `nowMs` (+ `steps` 30-second steps). */
export function codeAt(secret: string, nowMs: number, steps = 0): Promise<string> {
  return currentTotpCode(secret, nowMs + steps * 30_000);
}

export const PASSWORD = 'correct horse battery staple';

let counter = 0;

/** An active account with PASSWORD on the site of `host` (staff hosts get role admin). */
export async function createUser(
  gw: TestGateway,
  host: string,
  overrides: { email?: string; password?: string; name?: string; role?: 'admin' | 'member' } = {},
): Promise<User> {
  const site = gw.core.sites.lookup(host);
  assert.ok(site, `a site for ${host}`);
  return createLocalUser(gw.store, {
    realm: site.realm,
    email: overrides.email ?? `user${++counter}-${process.pid}@example.com`,
    name: overrides.name ?? 'Grace Hopper',
    role: overrides.role ?? (site.kind === 'staff' ? 'admin' : 'member'),
    password: overrides.password ?? PASSWORD,
    minLength: gw.config.auth.password.minLength,
    actor: 'test',
  });
}

/** An account with TOTP already on; returns its secret and recovery codes. */
export async function createEnrolledUser(
  gw: TestGateway,
  host: string,
  overrides: Parameters<typeof createUser>[2] = {},
): Promise<{ user: User; secret: string; recoveryCodes: string[] }> {
  const user = await createUser(gw, host, overrides);
  const { secret, recoveryCodes } = await enrolTotp(gw.store, gw.core.secretBox, user, { actor: 'test' });
  return { user, secret, recoveryCodes };
}

/** GET the sign-in page (new flow) and POST email + password; returns the answer to the POST. */
export async function submitPassword(client: Client, email: string, password: string, rd = '/'): Promise<Page> {
  const page = await client.get(`/.auth/login?rd=${encodeURIComponent(rd)}`);
  assert.equal(page.status, 200, 'sign-in page');
  return client.post('/.auth/login', { csrf: csrfOf(page.body), email, password });
}

/** Complete the TOTP step of a pending sign-in; returns the answer to the POST. */
export async function submitTotp(client: Client, code: string): Promise<Page> {
  const page = await client.get('/.auth/login/totp');
  assert.equal(page.status, 200, 'TOTP page');
  return client.post('/.auth/login/totp', { csrf: csrfOf(page.body), code });
}

/** A full password + TOTP sign-in of an enrolled user; returns the final redirect. */
export async function signIn(client: Client, email: string, secret: string, nowMs: number, rd = '/'): Promise<Page> {
  const pwd = await submitPassword(client, email, PASSWORD, rd);
  assert.equal(pwd.status, 303);
  assert.equal(pwd.location, '/.auth/login/totp');
  return submitTotp(client, await codeAt(secret, nowMs));
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2031-03-04T09:00:10Z')): { now: () => number; advance(ms: number): void; t: number } {
  const clock = {
    t: start,
    now: () => clock.t,
    advance(ms: number) {
      clock.t += ms;
    },
  };
  return clock;
}
