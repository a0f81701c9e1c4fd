// One oidc-provider instance per stand-in tenant, configured to behave like Entra v2.0.
//
// Mounting: the stand-in's server strips `/${tid}` from the URL before calling the
// provider (and keeps the full URL in req.originalUrl), so the provider's routes are
// the Entra paths below that prefix, and every URL it builds starts with `/${tid}`.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import Provider, { errors, type GrantLike, type KoaContextLike, type TokenLike } from 'oidc-provider';
import { appStatus, userConsented, type Runtime, type TenantBase } from './types.ts';
import { loginHintClaim, opaqueId, pairwiseSub } from './keys.ts';
import { errorPage } from './pages.ts';
import { shapeResponses } from './shaping.ts';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Delegated Graph permissions every token may carry (besides whatever else Graph-ish is requested). */
const KNOWN_GRAPH_SCOPES = [
  'User.Read',
  'User.ReadBasic.All',
  'User.Read.All',
  'Directory.Read.All',
  'Group.Read.All',
  'GroupMember.Read.All',
  'Mail.Read',
  'Mail.Send',
  'Calendars.Read',
  'Files.Read',
  '.default',
];

/** `User.Read`, `https://graph.microsoft.com/User.Read`, `00000003-…/User.Read`, `…/.default` */
export function isGraphScope(scope: string, resource = GRAPH_RESOURCE): boolean {
  if (OIDC_SCOPES.has(scope)) return false;
  const short = shortGraphScope(scope, resource);
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored; words split at '.', which they cannot contain: linear
  return short !== scope ? short.length > 0 : /^[A-Za-z]+(\.[A-Za-z]+)+$/.test(scope);
}

/** `resource`: Graph's URI in the cloud the stand-in plays (rt.graphResource) */
export function shortGraphScope(scope: string, resource = GRAPH_RESOURCE): string {
  for (const prefix of [`${resource}/`, `${GRAPH_APP_ID}/`]) {
    if (scope.startsWith(prefix)) return scope.slice(prefix.length);
  }
  return scope;
}

function scopeWords(...values: unknown[]): string[] {
  return values.flatMap((v) => (typeof v === 'string' ? v.split(' ').filter(Boolean) : []));
}

/** The scope list of the Graph "resource server" for this request (oidc-provider keeps only these). */
function graphScopes(rt: Runtime, ctx: KoaContextLike | undefined): string {
  const requested = scopeWords(ctx?.oidc?.params?.scope, ctx?.oidc?.entities.AuthorizationCode?.scope, ctx?.oidc?.entities.RefreshToken?.scope).filter((s) =>
    isGraphScope(s, rt.graphResource),
  );
  const known = KNOWN_GRAPH_SCOPES.flatMap((s) => [s, `${rt.graphResource}/${s}`]);
  // Entra's Graph tokens carry the OIDC scopes too (`scp: "openid profile email User.Read"`).
  return [...new Set(['openid', 'profile', 'email', ...known, ...requested])].join(' ');
}

/** A GUID derived from a string (service principal object ids). */
function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface StoredEntry {
  payload: Record<string, unknown>;
  expiresAt: number;
}

/** oidc-provider storage for one tenant; `Client` lookups come from the app registrations. */
function adapterFactory(rt: Runtime, tenant: TenantBase) {
  const store = new Map<string, StoredEntry>();
  const sessionUids = new Map<string, string>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string): Record<string, unknown> | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  const sweep = () => {
    const now = Date.now();
    for (const [key, entry] of store) if (entry.expiresAt <= now) store.delete(key);
  };

  return (model: string) => ({
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      if (store.size > 10_000) sweep();
      const key = `${model}:${id}`;
      store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
      if (model === 'Session' && typeof payload.uid === 'string') sessionUids.set(payload.uid, id);
      if (typeof payload.grantId === 'string') {
        const members = grants.get(payload.grantId) ?? new Set<string>();
        members.add(key);
        grants.set(payload.grantId, members);
      }
    },
    async find(id: string) {
      if (model === 'Client') return clientMetadata(rt, tenant, id);
      return live(`${model}:${id}`);
    },
    async findByUid(uid: string) {
      const id = sessionUids.get(uid);
      return id === undefined ? undefined : live(`${model}:${id}`);
    },
    async findByUserCode() {
      return undefined;
    },
    async consume(id: string) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id: string) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId: string) {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    },
  });
}

/** The app registration as oidc-provider client metadata — only if usable in this tenant. */
function clientMetadata(rt: Runtime, tenant: TenantBase, clientId: string): Record<string, unknown> | undefined {
  const status = appStatus(rt, tenant, clientId);
  // a tenant whose users may consent knows every multi-tenant app (its sign-in asks for consent)
  const userConsentable = status.kind === 'no-consent' && rt.strict && tenant.allowUserConsent;
  if (status.kind !== 'ok' && !userConsentable) return undefined;
  return {
    client_id: clientId,
    client_secret: status.app.clientSecret,
    redirect_uris: status.app.redirectUris,
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    // client_secret_basic is accepted as well: oidc-provider allows either secret method.
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
    // Entra's `sub` is pairwise per app; the sector URI is never fetched (see sectorIdentifierUriValidate).
    subject_type: 'pairwise',
    sector_identifier_uri: `https://sector.fake-entra.invalid/${encodeURIComponent(clientId)}`,
  };
}

export function createTenantProvider(rt: Runtime, tenant: TenantBase): Provider {
  // per-tenant cookie names: all tenants share one host
  const suffix = createHash('sha256').update(tenant.id.toLowerCase()).digest('hex').slice(0, 12);

  const findAccount = async (_ctx: unknown, sub: string) => {
    const user = tenant.users.get(sub.toLowerCase());
    if (!user) return undefined;
    return {
      accountId: user.oid,
      async claims() {
        return {
          sub: user.oid, // replaced by oidc-provider with pairwiseIdentifier()
          tid: tenant.id,
          oid: user.oid,
          ver: '2.0',
          name: user.name,
          preferred_username: user.preferredUsername,
          // email, xms_edov and login_hint are filtered per app (optional claims, verified domain) in shaping.ts
          ...(user.email === undefined ? {} : { email: user.email, xms_edov: user.emailVerified ?? true }),
          login_hint: loginHintClaim(tenant.id, user),
        };
      },
    };
  };

  // Consent is implicit (home tenant), given by an admin (foreign tenant, checked before the
  // request reaches the provider) or by this user for themselves: every authorization then
  // gets a fresh grant covering exactly what was requested. Without one, oidc-provider asks
  // for consent (the "Permissions requested" page, authorize.ts).
  const loadExistingGrant = async (ctx: KoaContextLike): Promise<GrantLike | undefined> => {
    const oidc = ctx.oidc;
    if (!oidc?.account || !oidc.client) return undefined;
    const app = rt.apps.get(oidc.client.clientId.toLowerCase());
    if (!app || !userConsented(rt, tenant, app, oidc.account.accountId)) return undefined;
    const grant = new oidc.provider.Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });
    const requested = [...oidc.requestParamScopes];
    grant.addOIDCScope(requested.filter((s) => OIDC_SCOPES.has(s)).join(' '));
    grant.addResourceScope(GRAPH_RESOURCE, requested.join(' '));
    await grant.save();
    return grant;
  };

  // Graph access tokens: v1.0-style JWTs like Entra issues for Graph (clients must not parse
  // them, but our Graph endpoint verifies them with the tenant key).
  const customizeAccessToken = async (
    _ctx: KoaContextLike | undefined,
    token: TokenLike,
    jwt: { header?: Record<string, unknown>; payload: Record<string, unknown> },
  ) => {
    const p = jwt.payload;
    const appId = String(p.client_id ?? token.clientId ?? '');
    const user = token.accountId ? tenant.users.get(token.accountId.toLowerCase()) : undefined;
    const common = {
      aud: GRAPH_APP_ID,
      iss: `https://sts.windows.net/${tenant.id}/`,
      iat: p.iat,
      nbf: p.iat,
      exp: p.exp,
      aio: opaqueId(48),
      appid: appId,
      appidacr: '1',
      idp: `https://sts.windows.net/${tenant.id}/`,
    };
    const scp = [...new Set(scopeWords(p.scope).map((s) => shortGraphScope(s, rt.graphResource)))].join(' ');
    jwt.header = { typ: 'JWT' };
    jwt.payload = user
      ? {
          ...common,
          amr: ['pwd'],
          idtyp: 'user',
          name: user.name,
          oid: user.oid,
          scp,
          sub: pairwiseSub(tenant.id, GRAPH_APP_ID, user.oid),
          tid: tenant.id,
          unique_name: user.userPrincipalName ?? user.preferredUsername,
          upn: user.userPrincipalName ?? user.preferredUsername,
          uti: opaqueId(16),
          ver: '1.0',
        }
      : {
          ...common,
          idtyp: 'app',
          oid: derivedGuid(`${tenant.id}|${appId}`),
          sub: derivedGuid(`${tenant.id}|${appId}`),
          tid: tenant.id,
          uti: opaqueId(16),
          ver: '1.0',
        };
  };

  const provider = new Provider(tenant.issuer, {
    adapter: adapterFactory(rt, tenant),
    clients: [],
    jwks: { keys: [tenant.keys.rsaPrivateJwk] },
    findAccount,
    loadExistingGrant,
    claims: {
      openid: ['sub', 'tid', 'ver', 'login_hint'],
      profile: ['name', 'preferred_username', 'oid'],
      email: ['email', 'xms_edov'],
    },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    conformIdTokenClaims: false,
    subjectTypes: ['pairwise'],
    pairwiseIdentifier: async (_ctx: unknown, accountId: string, client: { clientId: string }) => pairwiseSub(tenant.id, client.clientId, accountId),
    sectorIdentifierUriValidate: () => false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_post', 'client_secret_basic'],
    clientBasedCORS: () => true,
    routes: {
      authorization: '/oauth2/v2.0/authorize',
      token: '/oauth2/v2.0/token',
      jwks: '/discovery/v2.0/keys',
      end_session: '/oauth2/v2.0/logout',
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/${tenant.id}/login/${interaction.uid}` },
    cookies: {
      names: { session: `estsauth_${suffix}`, interaction: `estsint_${suffix}`, resume: `estsresume_${suffix}` },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
      keys: [randomBytes(32).toString('base64url')],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) =>
          oneOf ? (oneOf.includes(GRAPH_RESOURCE) ? GRAPH_RESOURCE : oneOf[0]) : GRAPH_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx: KoaContextLike, indicator: string) => {
          if (indicator !== GRAPH_RESOURCE) throw new errors.InvalidTarget(`resource '${indicator}' is not known here`);
          return {
            scope: graphScopes(rt, ctx),
            audience: GRAPH_APP_ID,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 3599,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    formats: { customizers: { jwt: customizeAccessToken } },
    // Entra issues a refresh token whenever offline_access was asked for (no prompt=consent needed);
    // oidc-provider drops offline_access without prompt=consent, so the server remembers those requests.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }, code: TokenLike) =>
      client.grantTypeAllowed('refresh_token') &&
      (code.scopes.has('offline_access') || code.kind === 'RefreshToken' || (code.codeChallenge !== undefined && rt.offlineChallenges.has(code.codeChallenge))),
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: 3599,
      AuthorizationCode: 600,
      ClientCredentials: 3599,
      IdToken: 3600,
      RefreshToken: 90 * 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 90 * 24 * 3600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
    },
    renderError: async (ctx: KoaContextLike, out: { error?: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = errorPage({
        code: 50000,
        message: `${out.error ?? 'server_error'}: ${out.error_description ?? 'the request could not be processed'}`,
        correlationId: randomUUID(),
      });
    },
  });
  provider.proxy = false;
  provider.on('grant.error', (ctx, err) => {
    ctx.state.providerError = err;
  });
  provider.use(shapeResponses(rt, tenant));
  return provider;
}
