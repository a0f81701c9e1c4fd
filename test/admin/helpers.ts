/**
 * Helpers for the admin settings tests: a gateway (optionally wired to the fake
 * Entra), staff admins with sealed sessions, and a tiny browser per host that keeps
 * cookies, sends same-origin form posts and records every body it received (so a
 * test can assert a secret never came back).
 */
import assert from 'node:assert/strict';
import { HOSTS, TENANTS, startGateway, type StartOptions, type TestGateway } from '../support/gateway.ts';
import { startFakeEntra, type FakeEntra } from '../../dev/fake-entra/index.ts';
import type { SessionData } from '../../src/session/types.ts';
import type { Store } from '../../src/store/types.ts';

export { HOSTS, TENANTS };

export const STAFF_APP = Object.freeze({ clientId: 'a0a0a0a0-1111-4222-8333-444444444444', clientSecret: 'Staff~Secret.Value_1234567890abcdefghij' });
export const PORTAL_APP = Object.freeze({ clientId: 'b0b0b0b0-1111-4222-8333-555555555555', clientSecret: 'Portal~Secret.Value_0987654321' });
export const ENTRA_USER = Object.freeze({
  oid: 'c0c0c0c0-1111-4222-8333-666666666666',
  name: 'Grace Hopper',
  preferredUsername: 'grace@staff.test',
  email: 'grace@staff.test',
});
export const ACME_USER = Object.freeze({
  oid: 'd0d0d0d0-1111-4222-8333-777777777777',
  name: 'Wile E. Coyote',
  preferredUsername: 'wile@acme.test',
  email: 'wile@acme.test',
});

export const PATH = Object.freeze({
  home: '/.auth/admin/',
  sso: '/.auth/admin/security/sso',
  portal: (id: string) => `/.auth/admin/portal/${id}/authentication`,
  audit: '/.auth/admin/audit',
  consent: '/.auth/consent/callback',
});

/** Start the fake Entra with the staff app (single-tenant) and Regentra's portal app (multi-tenant). */
export function startEntra(): Promise<FakeEntra> {
  return startFakeEntra({
    tenants: [
      { id: TENANTS.staff, name: 'Regentra Staff', users: [ENTRA_USER] },
      { id: TENANTS.acme, name: 'Acme Corp', users: [ACME_USER] },
      { id: TENANTS.globex, name: 'Globex', users: [] },
    ],
    apps: [
      {
        ...STAFF_APP,
        homeTenant: TENANTS.staff,
        multiTenant: false,
        redirectUris: [`http://${HOSTS.staff}/.auth/callback`, `http://${HOSTS.staff}/.auth/signed-out`],
      },
      {
        ...PORTAL_APP,
        homeTenant: TENANTS.staff,
        multiTenant: true,
        redirectUris: [
          `http://${HOSTS.staff}/.auth/consent/callback`,
          `http://${HOSTS.central}/.auth/callback`,
          `http://${HOSTS.acme}/.auth/callback`,
          `http://${HOSTS.acme}/.auth/signed-out`,
        ],
      },
    ],
  });
}

export interface AdminGatewayOptions {
  readonly entra?: FakeEntra;
  /** configure Regentra's multi-tenant portal app (default: true) */
  readonly portalApp?: boolean;
  readonly store?: Store;
  readonly now?: () => number;
  /** the raw `keys` section (replicas of one deployment share their keys) */
  readonly keys?: Record<string, unknown>;
  /** 'inject' for route tests of the settings pages that need no socket (StartOptions.transport) */
  readonly transport?: 'socket' | 'inject';
}

export function startAdminGateway(opts: AdminGatewayOptions = {}): Promise<TestGateway> {
  const options: StartOptions = {
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
    configure(raw) {
      const sites = raw.sites as { portal: Record<string, unknown> };
      if (opts.portalApp !== false) {
        sites.portal.entra = { ...PORTAL_APP };
        sites.portal.centralCallbackHost = HOSTS.central;
      }
      if (opts.keys) raw.keys = opts.keys;
      if (opts.entra)
        raw.entra = { authorityHost: opts.entra.url, graphUrl: opts.entra.graphUrl, graphResource: opts.entra.graphResource, allowInsecure: true };
      return raw;
    },
  };
  return startGateway(options);
}

/** A staff admin in the store and a session cookie for them (`amr` e.g. ['sso'] or ['pwd','otp']). */
export async function staffAdmin(
  gw: TestGateway,
  overrides: Partial<SessionData> & { role?: 'admin' | 'member' } = {},
): Promise<{ cookie: string; uid: string; email: string }> {
  const email = overrides.email ?? `admin-${Math.random().toString(36).slice(2, 10)}@regentra.test`;
  const role = overrides.role ?? 'admin';
  const user = await gw.store.createUser({ realm: 'staff', email, displayName: 'Admin', role });
  const cookie = await gw.sessionCookie(HOSTS.staff, { uid: user.id, email, role, ...overrides });
  return { cookie, uid: user.id, email };
}

export interface Page {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly location: string | null;
}

/** A browser for one host: cookies, same-origin form posts, and a record of every body. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly seen: string[] = [];
  readonly gw: TestGateway;
  readonly host: string;

  constructor(gw: TestGateway, host: string, cookie?: string) {
    this.gw = gw;
    this.host = host;
    if (cookie) this.setCookieHeader(cookie);
  }

  setCookieHeader(header: string): void {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) this.cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }

  private store(setCookie: string | string[] | undefined): void {
    for (const line of [setCookie ?? []].flat()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line) || /expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ') : undefined;
  }

  async send(method: string, path: string, opts: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml', ...(opts.headers ?? {}) };
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin ??= `http://${this.host}`;
    }
    const body$ = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
    const cookie = this.cookieHeader();
    // a gateway on a socket gets real HTTP; one built for inject() gets Fastify's inject (no socket)
    const res =
      this.gw.transport === 'inject'
        ? await this.gw.inject(this.host, path, { method, ...(cookie ? { cookie } : {}), headers, ...(body$ !== undefined ? { body: body$ } : {}) })
        : await this.gw.request(this.host, path, { method, cookie, headers, ...(body$ !== undefined ? { body: body$ } : {}) }).then(async (r) => ({
            statusCode: r.statusCode,
            headers: r.headers,
            body: await r.body.text(),
          }));
    const body = res.body;
    this.store(res.headers['set-cookie']);
    this.seen.push(body, JSON.stringify(res.headers));
    const location = res.headers.location;
    return { status: res.statusCode, headers: res.headers, body, location: typeof location === 'string' ? location : null };
  }

  get(path: string, headers?: Record<string, string>): Promise<Page> {
    return this.send('GET', path, { headers });
  }

  /** GET `path`, then post the form found on it with `fields` (csrf and version from the page). */
  async submit(path: string, fields: Record<string, string>, opts: { action?: string; headers?: Record<string, string> } = {}): Promise<Page> {
    const page = await this.get(path);
    assert.equal(page.status, 200, `GET ${path}: ${page.status}`);
    return this.send('POST', opts.action ?? (path.split('?')[0] as string), {
      form: { csrf: csrfOf(page.body), version: versionOf(page.body), ...fields },
      headers: opts.headers,
    });
  }

  /** Assert no body or header this browser received contains `text`. */
  assertNeverSaw(text: string): void {
    for (const body of this.seen) assert.ok(!body.includes(text), 'a response contained the secret');
  }
}

export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  assert.ok(m, 'page has a CSRF field');
  return m[1] as string;
}

export function versionOf(html: string): string {
  const m = /name="version" value="(\d+)"/.exec(html);
  assert.ok(m, 'page has a version field');
  return m[1] as string;
}

/** Decode the HTML entities our templates produce (for reading values back). */
export function unescapeHtml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');
}
