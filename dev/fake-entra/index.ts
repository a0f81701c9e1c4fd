/**
 * A local Microsoft Entra ID (v2.0 endpoints) stand-in built on oidc-provider, for the
 * integration tests, the browser tests and the demo. Point the gateway's
 * `entra.authorityHost` at `fe.url` and `entra.graphUrl` at `fe.graphUrl`.
 *
 * Per tenant T (one oidc-provider instance each, issuer `${url}/T/v2.0`):
 *   GET  /T/v2.0/.well-known/openid-configuration   discovery (Entra's fields)
 *   GET  /T/discovery/v2.0/keys                     JWKS (one RS256 key)
 *   GET  /T/oauth2/v2.0/authorize                   code flow, PKCE S256 required
 *   POST /T/oauth2/v2.0/token                       authorization_code, refresh_token, client_credentials
 *   GET  /T/oauth2/v2.0/logout                      end session
 *   GET  /T/v2.0/adminconsent                       admin consent for multi-tenant apps
 *   GET  /graph/v1.0/me, /graph/oidc/userinfo       Graph, with the access tokens issued here
 * Errors carry Entra's AADSTS codes. Strict (the default) as Microsoft documents it: the
 * browser's Microsoft session (one per browser, across tenants) signs in silently unless
 * `prompt=select_account` / `login` asks for the account picker (or the auto-login user);
 * a session of another tenant's account is AADSTS50020; one redirect-URI list per app;
 * unverified emails left out of ID tokens; optional claims only when the app asks; user
 * consent where the tenant allows it; Graph checks the token's scopes.
 *
 *   const fe = await startFakeEntra({ tenants: [{ id, name: 'Contoso', users }], apps: [app] });
 *   fe.setAutoLogin(id, users[0].oid);
 *   const callback = await fe.follow(authorizationUrl); // or let a real browser click through
 *   ...
 *   await fe.close();
 */
import type { AddressInfo } from 'node:net';
import { CookieJar, follow } from './browser.ts';
import { createTenantKeys } from './keys.ts';
import { createTenantProvider, GRAPH_RESOURCE } from './provider.ts';
import { createEntraServer } from './server.ts';
import { certificateControls } from './assertions.ts';
import { signOutOfMicrosoft } from './sessions.ts';
import { consentKey, recordConsent, type FakeEntra, type Runtime, type StartFakeEntraOptions, type TenantBase } from './types.ts';

export { FakeEntraPageError } from './browser.ts';
export type {
  ConsentCallback,
  ConsentKind,
  FakeApp,
  FakeBrowser,
  FakeEntra,
  FakeTenant,
  FakeUser,
  FollowOptions,
  IdTokenOverride,
  IdTokenOverrideResult,
  RecordedRequest,
  RecordedTokenRequest,
  Refusal,
  StartFakeEntraOptions,
} from './types.ts';

function validate(opts: StartFakeEntraOptions): void {
  const tenantIds = new Set<string>();
  for (const t of opts.tenants) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t.id)) {
      throw new TypeError(`fake-entra: tenant id '${t.id}' is not a GUID`);
    }
    if (tenantIds.has(t.id.toLowerCase())) throw new TypeError(`fake-entra: duplicate tenant '${t.id}'`);
    tenantIds.add(t.id.toLowerCase());
  }
  const clientIds = new Set<string>();
  for (const a of opts.apps) {
    if (!tenantIds.has(a.homeTenant.toLowerCase())) throw new TypeError(`fake-entra: app '${a.clientId}' has unknown homeTenant '${a.homeTenant}'`);
    if (clientIds.has(a.clientId.toLowerCase())) throw new TypeError(`fake-entra: duplicate app '${a.clientId}'`);
    clientIds.add(a.clientId.toLowerCase());
  }
}

export async function startFakeEntra(opts: StartFakeEntraOptions): Promise<FakeEntra> {
  validate(opts);
  const rt: Runtime = {
    url: '',
    graphUrl: '',
    graphResource: GRAPH_RESOURCE,
    challengeInvalidClient: false,
    refusals: { authorize: null, token: null },
    graphRefusal: null,
    tenants: new Map(),
    apps: new Map(opts.apps.map((a) => [a.clientId.toLowerCase(), a])),
    strict: opts.strict ?? true,
    consents: new Map(),
    browserSessions: new Map(),
    autoLogin: new Map(),
    offlineChallenges: new Set(),
    overrideNext: null,
    garbage: null,
    down: false,
    delayMs: 0,
    authorizeRequests: [],
    tokenRequests: [],
    consentCallbacks: [],
    graphRequests: [],
  };

  const keys = await Promise.all(opts.tenants.map(() => createTenantKeys()));
  const server = createEntraServer(rt);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  rt.url = `http://127.0.0.1:${port}`;
  rt.graphUrl = `${rt.url}/graph`;
  if (opts.cloud === 'national') rt.graphResource = rt.graphUrl;

  opts.tenants.forEach((t, i) => {
    const base: TenantBase = {
      id: t.id,
      name: t.name,
      issuer: `${rt.url}/${t.id}/v2.0`,
      users: new Map(t.users.map((u) => [u.oid.toLowerCase(), u])),
      keys: keys[i]!,
      allowUserConsent: t.allowUserConsent ?? false,
    };
    const provider = createTenantProvider(rt, base);
    rt.tenants.set(t.id.toLowerCase(), { ...base, provider, handle: provider.callback() });
  });

  const tenantOf = (tenantId: string) => {
    const tenant = rt.tenants.get(tenantId.toLowerCase());
    if (!tenant) throw new TypeError(`fake-entra: unknown tenant '${tenantId}'`);
    return tenant;
  };

  let closed: Promise<void> | undefined;
  return {
    url: rt.url,
    graphUrl: rt.graphUrl,
    graphResource: rt.graphResource,
    challengeInvalidClient(on) {
      rt.challengeInvalidClient = on;
    },
    refuseNext(endpoint, kind) {
      rt.refusals[endpoint] = kind;
    },
    refuseGraph(kind) {
      rt.graphRefusal = kind;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
    setAutoLogin(tenantId, oid) {
      const tenant = tenantOf(tenantId);
      if (oid === null) {
        rt.autoLogin.delete(tenant.id.toLowerCase());
        return;
      }
      if (!tenant.users.has(oid.toLowerCase())) throw new TypeError(`fake-entra: no user '${oid}' in tenant '${tenantId}'`);
      rt.autoLogin.set(tenant.id.toLowerCase(), oid);
    },
    grantConsent(tenantId, clientId) {
      const app = rt.apps.get(clientId.toLowerCase());
      if (!app) throw new TypeError(`fake-entra: unknown app '${clientId}'`);
      recordConsent(rt, tenantOf(tenantId), app, 'admin');
    },
    consentKind(tenantId, clientId) {
      return rt.consents.get(consentKey(tenantOf(tenantId).id, clientId))?.kind ?? null;
    },
    browser: () => new CookieJar(),
    revokeConsent(tenantId, clientId) {
      rt.consents.delete(consentKey(tenantOf(tenantId).id, clientId));
    },
    setDown(down) {
      rt.down = down;
    },
    setDelay(ms) {
      rt.delayMs = Math.max(0, ms);
    },
    setGarbage(kind) {
      rt.garbage = kind;
    },
    overrideNextIdToken(fn) {
      rt.overrideNext = fn;
    },
    ...certificateControls(rt),
    signOutOfMicrosoft: (tenantId, oid) => signOutOfMicrosoft(rt, tenantOf(tenantId), oid),
    follow: (url, options) => follow(rt, url, options),
    authorizeRequests: rt.authorizeRequests,
    tokenRequests: rt.tokenRequests,
    consentCallbacks: rt.consentCallbacks,
    graphRequests: rt.graphRequests,
  };
}
