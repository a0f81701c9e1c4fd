/**
 * Start a real gateway for a test: config through the real loader, a real store
 * (in-memory SQLite unless given), real upstreams, listening on 127.0.0.1:0.
 * Requests are sent with undici so that the Host header can name any site.
 */
import { buildSiteTable } from '../../src/routing/sites.ts';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { buildGateway, type AppDeps, type GatewayApp } from '../../src/app.ts';
import type { Core } from '../../src/core.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import type { SessionData } from '../../src/session/types.ts';
import { cookieNamesFor } from '../../src/session/plugin.ts';
import { ecPem, key32 } from './keys.ts';
import { startUpstream, type Upstream } from './upstream.ts';
import { sealSession } from '../../dev/seed.ts';

export const HOSTS = Object.freeze({
  staff: 'staff.example.test',
  acme: 'acme.support.example.test',
  acmeCustom: 'support.acme.test',
  globex: 'globex.support.example.test',
  initechWildcard: '*.initech.example.test',
  central: 'login.support.example.test',
});

export const TENANTS = Object.freeze({
  staff: '11111111-1111-4111-8111-111111111111',
  acme: '22222222-2222-4222-8222-222222222222',
  globex: '33333333-3333-4333-8333-333333333333',
});

/** A complete, valid raw config (as YAML would give it) pointing at the given upstreams. */
/** a raw config as YAML gives it, before validation: tests edit the tree freely */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests reach into and rewrite arbitrary parts of the unvalidated YAML tree; the loader's schema checks it
export type RawConfig = Record<string, any>;

export function baseRawConfig(staffUpstream: string, portalUpstream: string): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0, publicScheme: 'http' },
    ops: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    store: { driver: 'sqlite', path: ':memory:' },
    keys: {
      session: [key32()],
      signing: [{ privateKey: ecPem() }],
      encryption: [{ id: 'k1', key: key32() }],
    },
    session: { secure: false },
    identity: { issuer: 'https://gateway.test' },
    sites: {
      staff: { hosts: [HOSTS.staff], upstream: staffUpstream, publicPaths: ['/assets/', '/health'] },
      portal: {
        upstream: portalUpstream,
        publicPaths: ['/assets/'],
        clients: [
          { id: 'acme', name: 'Acme Corp', hosts: [HOSTS.acme, HOSTS.acmeCustom] },
          { id: 'globex', name: 'Globex', hosts: [HOSTS.globex] },
          { id: 'initech', name: 'Initech', hosts: [HOSTS.initechWildcard] },
        ],
      },
    },
  };
}

export interface TestGateway {
  readonly url: string;
  readonly port: number;
  readonly app: GatewayApp;
  /** what buildGateway built the services and routes from (store, policy, secretBox, entra…) */
  readonly core: Core;
  readonly config: Config;
  readonly store: Store;
  readonly staffUpstream: Upstream;
  readonly portalUpstream: Upstream;
  readonly cookieName: string;
  /**
   * A session cookie header for `host`, sealed with the configured keys (tests only).
   * Creates the user in the store (revocation checks need it) unless `uid` is given.
   */
  sessionCookie(host: string, overrides?: Partial<SessionData>): Promise<string>;
  /** send a request to the gateway naming `host` */
  request(host: string, path: string, options?: Partial<Dispatcher.RequestOptions> & { cookie?: string }): Promise<Dispatcher.ResponseData>;
  /** The same request through Fastify's inject() (no socket); the only way in with transport 'inject'. */
  inject(
    host: string,
    path: string,
    options?: { method?: string; cookie?: string; headers?: Record<string, string>; body?: string },
  ): Promise<InjectedResponse>;
  readonly transport: 'socket' | 'inject';
  close(): Promise<void>;
}

export interface StartOptions {
  /** modify the raw config before it is validated */
  readonly configure?: (raw: Record<string, unknown>) => Record<string, unknown>;
  readonly now?: () => number;
  readonly store?: Store;
  readonly deps?: Partial<AppDeps>;
  /** register extra routes (test-only pages) after buildApp, before listening */
  readonly beforeListen?: (app: GatewayApp, core: Core) => void | Promise<void>;
  /**
   * 'inject': the gateway is not put on a socket; requests go through Fastify's inject()
   * (route-level tests of the gateway's own pages: no port, no connection handling).
   * 'socket' (default): listening on 127.0.0.1, for tests about HTTP, the proxy and browsers.
   */
  readonly transport?: 'socket' | 'inject';
}

/** A response from TestGateway.inject(): status, headers and the whole body. */
export interface InjectedResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * A session cookie header for `host`, sealed with `app`'s keys (tests only).
 * Creates the user in `store` (revocation checks need it) unless `uid` is given.
 */
export async function sealedSessionCookie(
  app: GatewayApp,
  config: Config,
  store: Store,
  host: string,
  now: () => number = Date.now,
  overrides: Partial<SessionData> = {},
): Promise<string> {
  const site = buildSiteTable(config).lookup(host);
  if (!site) throw new Error(`no site for ${host}`);
  const t = now();
  const email = overrides.email ?? `user-${randomUUID().slice(0, 8)}@example.com`;
  const uid =
    overrides.uid ??
    (await store.createUser({ realm: site.realm, email, displayName: overrides.name ?? 'Ada Lovelace', role: site.kind === 'staff' ? 'admin' : 'member' })).id;
  const data: SessionData = {
    v: 1,
    sid: randomUUID(),
    realm: site.realm,
    host: host.toLowerCase(),
    uid,
    email,
    name: 'Ada Lovelace',
    role: site.kind === 'staff' ? 'admin' : null,
    client: site.clientId,
    amr: ['pwd', 'otp'],
    authTime: Math.floor(t / 1000),
    iat: t,
    seen: t,
    idp: null,
    ...overrides,
  };
  return `${cookieNamesFor(config).session}=${sealSession(app, data)}`;
}

export async function startGateway(options: StartOptions = {}): Promise<TestGateway> {
  const staffUpstream = await startUpstream('staff-app');
  const portalUpstream = await startUpstream('portal-app');
  let raw = baseRawConfig(staffUpstream.url, portalUpstream.url);
  if (options.configure) raw = options.configure(raw);
  let config: Config;
  try {
    ({ config } = loadConfigObject(raw));
  } catch (err) {
    await Promise.all([staffUpstream.close(), portalUpstream.close()]);
    throw err;
  }
  const store = options.store ?? (await openStore({ driver: 'sqlite', path: ':memory:' }));
  const now = options.now ?? Date.now;
  const { app, core } = await buildGateway(config, { store, logger: false, now, ...options.deps });
  await options.beforeListen?.(app, core);
  const transport = options.transport ?? 'socket';
  let port = 0;
  if (transport === 'socket') {
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  } else await app.ready();
  const cookieName = cookieNamesFor(config).session;

  const gw: TestGateway = {
    url: `http://127.0.0.1:${port}`,
    port,
    app,
    core,
    config,
    store,
    staffUpstream,
    portalUpstream,
    cookieName,
    sessionCookie: (host, overrides = {}) => sealedSessionCookie(app, config, store, host, now, overrides),
    transport,
    async inject(host, path, opts = {}) {
      const res = await app.inject({
        method: (opts.method ?? 'GET') as 'GET',
        url: path,
        headers: { host, ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.headers ?? {}) },
        ...(opts.body !== undefined ? { payload: opts.body } : {}),
      });
      // header values as node:http gives a client (numbers as text), like the socket transport
      const headers: Record<string, string | string[] | undefined> = {};
      for (const [name, value] of Object.entries(res.headers)) headers[name] = typeof value === 'number' ? String(value) : value;
      return { statusCode: res.statusCode, headers, body: res.body };
    },
    request(host, path, opts = {}) {
      if (transport === 'inject') throw new Error('this test gateway has no socket (transport: inject): use gw.inject()');
      const { cookie, headers, ...rest } = opts;
      return undiciRequest(`${gw.url}${path}`, {
        method: 'GET',
        ...rest,
        headers: { host, ...(cookie ? { cookie } : {}), ...(headers as Record<string, string> | undefined) },
      });
    },
    async close() {
      await app.close();
      if (!options.store) await store.close();
      await staffUpstream.close();
      await portalUpstream.close();
    },
  };
  return gw;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Send `target` to the gateway exactly as written (node:http does not parse or
 * normalise it, unlike undici): for `..`, `\`, `%2f` and other hostile targets.
 * `headers` may be a flat [name, value, name, value…] list to repeat a header or keep its case.
 */
export function requestTarget(
  port: number,
  host: string,
  target: string,
  options: { method?: string; headers?: OutgoingHttpHeaders | string[]; body?: string } = {},
): Promise<RawResponse> {
  const headers = Array.isArray(options.headers) ? ['host', host, ...options.headers] : { host, ...options.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: target, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
