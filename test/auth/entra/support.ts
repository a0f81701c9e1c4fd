/**
 * Shared set-up for the Entra sign-in tests: the Entra stand-in with a staff tenant,
 * two client tenants and Regentra's own tenant; a gateway pointed at it; SSO settings
 * seeded in the store; and a small cookie-keeping "browser" that drives the real
 * redirects (gateway → stand-in → gateway) over HTTP.
 */
import type { Core } from '../../../src/core.ts';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import type { FastifyBaseLogger } from 'fastify';
import { startFakeEntra, type FakeBrowser, type FakeEntra, type FakeUser } from '../../../dev/fake-entra/index.ts';
import { HOSTS, startGateway, TENANTS, type StartOptions, type TestGateway } from '../../support/gateway.ts';
import {
  DEFAULT_PORTAL_AUTH,
  DEFAULT_STAFF_SSO,
  portalAuthKey,
  STAFF_SSO_KEY,
  type PortalAuthSettings,
  type StaffSsoSettings,
} from '../../../src/auth/policy.ts';
import { sealStaffSecret } from '../../../src/auth/entra/index.ts';
import { PATHS } from '../../../src/routing/reserved.ts';
import type { GatewayApp } from '../../../src/app.ts';

export { HOSTS, TENANTS };
export const REGENTRA_TENANT = '44444444-4444-4444-8444-444444444444';

export const USERS = Object.freeze({
  ada: { oid: 'a1a1a1a1-0000-4000-8000-00000000000a', name: 'Ada Lovelace', preferredUsername: 'ada@staff.test', email: 'ada@staff.test' },
  grace: {
    oid: 'b2b2b2b2-0000-4000-8000-00000000000b',
    name: 'Grace Hopper',
    preferredUsername: 'grace@staff.onmicrosoft.test',
    mail: 'grace.hopper@staff.test',
    userPrincipalName: 'grace@staff.onmicrosoft.test',
  },
  ken: { oid: 'c3c3c3c3-0000-4000-8000-00000000000c', name: 'Ken Thompson', preferredUsername: 'ken@staff.test', email: 'ken@staff.test' },
  alice: { oid: 'd4d4d4d4-0000-4000-8000-00000000000d', name: 'Alice Acme', preferredUsername: 'alice@acme.test', email: 'alice@acme.test' },
  upn: {
    oid: 'e5e5e5e5-0000-4000-8000-00000000000e',
    name: 'Una Principal',
    preferredUsername: 'una@acme.onmicrosoft.test',
    userPrincipalName: 'una@acme.onmicrosoft.test',
  },
  glen: { oid: 'f6f6f6f6-0000-4000-8000-00000000000f', name: 'Glen Globex', preferredUsername: 'glen@globex.test', email: 'glen@globex.test' },
} satisfies Record<string, FakeUser>);

const origin = (host: string) => `http://${host}`;
const allHosts = [HOSTS.staff, HOSTS.acme, HOSTS.acmeCustom, HOSTS.globex, HOSTS.central];

/** as an admin registers them: every URI `sso redirect-uris` prints (one list per app), and the optional claims */
export const STAFF_APP = Object.freeze({
  clientId: '5a5a5a5a-aaaa-4bbb-8ccc-000000000001',
  clientSecret: 'staff~secret.value',
  homeTenant: TENANTS.staff,
  multiTenant: false,
  redirectUris: [`${origin(HOSTS.staff)}${PATHS.callback}`, `${origin(HOSTS.staff)}${PATHS.signedOut}`],
  optionalClaims: ['xms_edov', 'login_hint'] as Array<'xms_edov' | 'login_hint'>,
  frontChannelLogoutUrl: `${origin(HOSTS.staff)}${PATHS.frontchannelLogout}`,
});
const portalHosts = allHosts.filter((h) => h !== HOSTS.staff && h !== HOSTS.central);
export const PORTAL_APP = Object.freeze({
  clientId: '6b6b6b6b-aaaa-4bbb-8ccc-000000000002',
  clientSecret: 'portal~secret.value',
  homeTenant: REGENTRA_TENANT,
  multiTenant: true,
  redirectUris: [
    ...[...portalHosts, HOSTS.central].map((h) => `${origin(h)}${PATHS.callback}`),
    ...portalHosts.map((h) => `${origin(h)}${PATHS.signedOut}`),
    `${origin(HOSTS.staff)}${PATHS.consentCallback}`,
  ],
  optionalClaims: ['xms_edov', 'login_hint'] as Array<'xms_edov' | 'login_hint'>,
});

export interface EnvOptions {
  /** route portal callbacks through HOSTS.central */
  readonly central?: boolean;
  readonly timeoutMs?: number;
  /** staff SSO settings (merged over enabled defaults); null: none stored */
  readonly staff?: Partial<StaffSsoSettings> | null;
  /** acme's portal settings (merged over SSO-on defaults); null: none stored */
  readonly acme?: Partial<PortalAuthSettings> | null;
  readonly now?: () => number;
  readonly beforeListen?: StartOptions['beforeListen'];
  /** the gateway's HTTP client for Entra and Graph (to break or observe calls) */
  readonly fetch?: typeof fetch;
  /** change the raw config after the stand-in's settings are in (e.g. entra.prompt, a client's domainHint) */
  readonly configure?: (raw: Record<string, unknown>) => Record<string, unknown>;
  /** more people in the staff and Acme tenants */
  readonly extraUsers?: { readonly staff?: readonly FakeUser[]; readonly acme?: readonly FakeUser[] };
  /** the gateway's logger (default: none), e.g. one that captures its lines */
  readonly logger?: FastifyBaseLogger;
  /** `sites.portal.entra` (default: PORTAL_APP's id and secret) */
  readonly portalEntra?: Record<string, unknown>;
}

export interface Env {
  readonly fe: FakeEntra;
  readonly gw: TestGateway;
  readonly app: GatewayApp;
  /** what the gateway's services were built from (buildGateway) */
  readonly core: Core;
  browser(): Browser;
  setStaff(patch: Partial<StaffSsoSettings>): Promise<void>;
  close(): Promise<void>;
}

export async function startEnv(opts: EnvOptions = {}): Promise<Env> {
  const fe = await startFakeEntra({
    tenants: [
      { id: TENANTS.staff, name: 'Regentra Staff', users: [USERS.ada, USERS.grace, USERS.ken, ...(opts.extraUsers?.staff ?? [])] },
      { id: TENANTS.acme, name: 'Acme Corp', users: [USERS.alice, USERS.upn, ...(opts.extraUsers?.acme ?? [])] },
      { id: TENANTS.globex, name: 'Globex', users: [USERS.glen] },
      { id: REGENTRA_TENANT, name: 'Regentra', users: [] },
    ],
    apps: [STAFF_APP, PORTAL_APP],
  });
  fe.grantConsent(TENANTS.acme, PORTAL_APP.clientId);
  fe.grantConsent(TENANTS.globex, PORTAL_APP.clientId);
  const gw = await startGateway({
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.beforeListen ? { beforeListen: opts.beforeListen } : {}),
    deps: { ...(opts.fetch ? { fetch: opts.fetch } : {}), ...(opts.logger ? { logger: opts.logger } : {}) },
    configure(raw) {
      const sites = raw.sites as { portal: Record<string, unknown> };
      sites.portal.entra = opts.portalEntra ?? { clientId: PORTAL_APP.clientId, clientSecret: PORTAL_APP.clientSecret };
      if (opts.central) sites.portal.centralCallbackHost = HOSTS.central;
      const out = {
        ...raw,
        entra: { authorityHost: fe.url, graphUrl: fe.graphUrl, graphResource: fe.graphResource, allowInsecure: true, timeoutMs: opts.timeoutMs ?? 3_000 },
      };
      return opts.configure ? opts.configure(out) : out;
    },
  });
  const store = gw.store;
  const app = gw.app;
  const setStaff = async (patch: Partial<StaffSsoSettings>) => {
    const current = (await store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY))?.value ?? DEFAULT_STAFF_SSO;
    await store.putSetting(STAFF_SSO_KEY, { ...current, ...patch });
    gw.core.policy.invalidate();
  };
  if (opts.staff !== null) {
    await setStaff({
      tenantId: TENANTS.staff,
      clientId: STAFF_APP.clientId,
      clientSecretEnc: sealStaffSecret(gw.core, STAFF_APP.clientSecret),
      secretSetAt: Date.now(),
      enabled: true,
      ...(opts.staff ?? {}),
    });
  }
  if (opts.acme !== null) {
    await store.putSetting(portalAuthKey('acme'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.acme, ssoEnabled: true, ...(opts.acme ?? {}) });
  }
  return {
    fe,
    gw,
    app,
    core: gw.core,
    setStaff,
    browser: () => new Browser(gw, fe),
    async close() {
      await gw.close();
      await fe.close();
    },
  };
}

export interface Page {
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly location: string | null;
  readonly body: string;
  /** the URL requested */
  readonly url: URL;
  /** the refused callback (or hand-off) whose 303 to /.auth/error this page followed */
  readonly redirectedFrom?: Page;
}

/** A browser for the gateway's hosts: one cookie jar per host, HTML accepted, redirects manual. */
export class Browser {
  readonly jar = new Map<string, Map<string, string>>();
  readonly gw: TestGateway;
  readonly fe: FakeEntra;
  /** this browser's cookies at "Microsoft" (its Microsoft session lives on between sign-ins) */
  readonly microsoft: FakeBrowser;

  constructor(gw: TestGateway, fe: FakeEntra) {
    this.gw = gw;
    this.fe = fe;
    this.microsoft = fe.browser();
  }

  cookies(host: string): Map<string, string> {
    let c = this.jar.get(host);
    if (!c) this.jar.set(host, (c = new Map()));
    return c;
  }

  cookieHeader(host: string): string | undefined {
    const c = this.cookies(host);
    return c.size ? [...c].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  private keep(host: string, setCookie: string | string[] | undefined): void {
    const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const line of lines) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k = '', v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        return (key === 'max-age' && Number(v) <= 0) || (key === 'expires' && Date.parse(v) <= Date.now());
      });
      if (expired || value === '') this.cookies(host).delete(name);
      else this.cookies(host).set(name, value);
    }
  }

  /**
   * GET (or another method) an absolute http://host/path URL on the gateway. A refused
   * sign-in answers 303 to /.auth/error: that one redirect is followed, as a browser
   * would, and the 303 kept in `redirectedFrom`.
   */
  async open(target: string | URL, init: { method?: Dispatcher.HttpMethod; body?: string; headers?: Record<string, string> } = {}): Promise<Page> {
    const page = await this.openOnce(target, init);
    if (page.status !== 303 || page.location === null) return page;
    const to = new URL(page.location);
    if (to.host !== page.url.host || to.pathname !== PATHS.error) return page;
    assert.equal(to.search, '', 'the error page URL carries nothing of the callback');
    const shown = await this.openOnce(to);
    return { ...shown, redirectedFrom: page };
  }

  /** One request, no redirect followed. */
  async openOnce(target: string | URL, init: { method?: Dispatcher.HttpMethod; body?: string; headers?: Record<string, string> } = {}): Promise<Page> {
    const url = new URL(target);
    const cookie = this.cookieHeader(url.host);
    const res = await this.gw.request(url.host, `${url.pathname}${url.search}`, {
      method: init.method ?? 'GET',
      ...(init.body !== undefined ? { body: init.body } : {}),
      headers: { accept: 'text/html,application/xhtml+xml', ...(cookie ? { cookie } : {}), ...(init.headers ?? {}) },
    });
    this.keep(url.host, res.headers['set-cookie']);
    const body = await res.body.text();
    const loc = res.headers.location;
    return { status: res.statusCode, headers: res.headers, location: typeof loc === 'string' ? new URL(loc, url).href : null, body, url };
  }

  /** Start SSO on `host` and return the authorization URL the gateway sent the browser to. */
  async start(host: string, rd = '/dashboard'): Promise<URL> {
    const page = await this.open(`http://${host}${PATHS.sso}?rd=${encodeURIComponent(rd)}`);
    assert.equal(page.status, 303, `expected a redirect to Entra, got ${page.status}: ${page.body.slice(0, 300)}`);
    assert.ok(page.location !== null && page.location.startsWith(this.fe.url), `redirect goes to the stand-in: ${page.location}`);
    return new URL(page.location);
  }

  /** Complete the stand-in's pages as `oid` and return the callback URL (not yet opened). */
  async atMicrosoft(authorizeUrl: URL, oid: string): Promise<URL> {
    return this.fe.follow(authorizeUrl, { as: oid, browser: this.microsoft });
  }

  /** Follow gateway redirects (same or other gateway hosts) until a non-redirect or a non-gateway URL. */
  async follow(first: string | URL, max = 6): Promise<Page[]> {
    const pages: Page[] = [];
    let next: string | null = String(first);
    for (let i = 0; i < max && next !== null; i++) {
      const page = await this.open(next);
      pages.push(page);
      next = page.status >= 300 && page.status < 400 && page.location && !page.location.startsWith(this.fe.url) ? page.location : null;
    }
    return pages;
  }

  /** The whole sign-in: start, Microsoft as `oid`, callback and any hand-off; returns every gateway page. */
  async signIn(host: string, oid: string, rd = '/dashboard'): Promise<Page[]> {
    const authorize = await this.start(host, rd);
    const callback = await this.atMicrosoft(authorize, oid);
    return this.follow(callback);
  }
}

/** The last page of a chain. */
export function last(pages: readonly Page[]): Page {
  const p = pages.at(-1);
  assert.ok(p, 'no page');
  return p;
}

/** Assert an error page: status, a phrase, the correlation id and time. */
export function assertErrorPage(page: Page, status: number, phrase: RegExp): void {
  assert.equal(page.status, status, `status ${page.status}: ${page.body.slice(0, 400)}`);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body, phrase);
  // after a redirect to /.auth/error, the reference is the refused request's
  const id = (page.redirectedFrom ?? page).headers['x-request-id'];
  assert.ok(typeof id === 'string' && id.length > 0, 'x-request-id header');
  assert.ok(page.body.includes(`Reference: ${id}`), 'correlation id on the page');
  assert.match(page.body, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/, 'time on the page');
}
