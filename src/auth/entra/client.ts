/**
 * The OpenID Connect client for Microsoft Entra ID (openid-client v6), per tenant:
 *
 * - authority `{authorityHost}/{tenantId}/v2.0`; discovery cached per tenant (bounded
 *   LRU, 1 h, served stale while it refreshes in the background, so a sign-in never
 *   waits on a tenant already known; failures are not cached: recovery needs no restart);
 * - the JWKS cache shared per tenant (openid-client refreshes it after 5 min or on an
 *   unknown `kid`, at most once a minute);
 * - every HTTP call through the injected `fetch` (Core.fetch) with `entra.timeoutMs`; network errors,
 *   timeouts, 5xx and an unusable JWKS are IdpTransportErrors (→ IDP_UNAVAILABLE);
 * - `client_secret_post`, or `private_key_jwt` with a certificate (RS256 client assertion,
 *   `x5t#S256` header, `aud` = the token endpoint as Entra requires, 60 s `exp`, random
 *   `jti`); PKCE S256, `state` and `nonce`; RS256 ID tokens whose signature is verified
 *   with the tenant's JWKS (non-repudiation checks on);
 * - rotation: when Microsoft refuses the credential itself (AADSTS7000215 wrong secret,
 *   7000222 expired secret, 700027 unknown or expired certificate), the app's other
 *   credentials are tried in order, so a second credential keeps sign-in working;
 * - Graph scopes of the configured cloud (./cloud.ts); Graph `GET /v1.0/me` only to read
 *   an email address when the ID token has none.
 */
import * as oidc from 'openid-client';
import { LRUCache } from 'lru-cache';
import { boundedCache } from '../../util/bounded-cache.ts';
import type { Config } from '../../config/schema.ts';
import type { Metrics } from '../../ops/metrics.ts';
import { classifyIdpError, EntraError, IdpTransportError, oauthBodyError } from './errors.ts';
import { graphIds } from './diagnostics.ts';
import type { AppCredential, EntraAppCredentials } from './secrets.ts';
import type { CertificateCredential } from '../../util/certificate.ts';
import { createPrivateKey, type webcrypto } from 'node:crypto';
import { tenantAuthority } from './urls.ts';
import { graphDefaultScope, signInScopes } from '../../config/entra-cloud.ts';
/** tolerance for ID token lifetime claims (exp, nbf, iat), seconds */
export const ID_TOKEN_SKEW_S = 60;
const CACHE_TTL_MS = 60 * 60 * 1000;
const CACHE_MAX = 5_000;
const DISCOVERY_CLIENT_ID = 'regentra-discovery';
/** Microsoft's answers that mean "this credential is wrong or expired": another credential may work */
export const CREDENTIAL_REFUSED = new Set(['AADSTS7000215', 'AADSTS7000222', 'AADSTS700027']);

type Operation = 'discovery' | 'token' | 'jwks' | 'graph' | 'other';

export interface RedeemInput {
  readonly redirectUri: string;
  readonly code: string;
  /** the `state` received in the callback */
  readonly state: string;
  /** the `state` this attempt sent */
  readonly expectedState: string;
  readonly verifier: string;
  readonly nonce: string;
}

export interface Redeemed {
  readonly claims: Readonly<oidc.IDToken>;
  /** used once for Graph and dropped: never validated, stored or logged */
  readonly accessToken: string;
}

/** What a sign-in asks Microsoft for besides the protocol parameters (see signin.ts). */
export interface AuthorizationHints {
  /** `prompt` (select_account, login), or none */
  readonly prompt?: string;
  /** `login_hint`: the account to sign in again */
  readonly loginHint?: string;
  /** `domain_hint`: the organisation's verified domain (skips home realm discovery) */
  readonly domainHint?: string;
}

export interface GraphProfile {
  readonly mail: string | null;
  readonly userPrincipalName: string | null;
}

export interface EntraClient {
  /** the tenant's metadata (cached; `fresh` bypasses the cache and refreshes it) */
  metadata(tenantId: string, options?: { fresh?: boolean }): Promise<oidc.ServerMetadata>;
  authorizationUrl(
    app: EntraAppCredentials,
    params: { redirectUri: string; state: string; nonce: string; verifier: string; hints?: AuthorizationHints },
  ): Promise<URL>;
  redeem(app: EntraAppCredentials, input: RedeemInput): Promise<Redeemed>;
  /** a client-credentials token for Graph `.default`: proves the app, the tenant and the secret */
  clientCredentials(app: EntraAppCredentials): Promise<void>;
  graphProfile(accessToken: string): Promise<GraphProfile>;
  /** `logoutHint`: the ID token's login_hint claim, so Microsoft signs that account out without asking which */
  endSessionUrl(tenantId: string, clientId: string, postLogoutRedirectUri: string, logoutHint?: string): Promise<string | null>;
}

/** What the Entra client is built from (buildGateway builds one per configuration: Core.entra). */
export interface EntraClientDeps {
  readonly config: Config;
  /** HTTP client for Entra and Graph (tests may route it) */
  readonly fetch: typeof fetch;
  readonly metrics: Metrics;
}

function isJwks(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const keys = (body as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
}

/**
 * An error answer of the token or discovery endpoint, classified from its body whatever
 * its status and headers (Entra answers discovery for an unknown tenant with AADSTS90002,
 * and some invalid_client errors with 401 and a WWW-Authenticate challenge). Null: the
 * body is no OAuth error (openid-client then judges the response as it is).
 */
async function explainedErrorAnswer(response: Response): Promise<EntraError | null> {
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => null);
  return oauthBodyError(body, response.status);
}

/** Graph's answer to /me when it refuses the token: a permission problem, explained with Graph's ids. */
async function graphRefusal(response: Response): Promise<EntraError> {
  const body: unknown = await response.json().catch(() => null);
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  const graphCode = typeof code === 'string' && /^[A-Za-z_]{1,64}$/.test(code) ? code : `HTTP ${response.status}`;
  return new EntraError('SSO_GRAPH_DENIED', {
    info: Object.freeze({
      code: `GRAPH_${response.status}`,
      message: `Microsoft Graph refused to read the signed-in person's profile (${graphCode}): the app does not have the delegated permission User.Read, or it was not consented to.`,
      hint: "Add Microsoft Graph → Delegated → User.Read under the app registration's API permissions and grant admin consent; for a client's portal, the client's Azure AD administrator opens the admin consent link again.",
      microsoft: graphIds(body, response.headers),
    }),
    cause: new Error(`graph: HTTP ${response.status} ${graphCode}`),
  });
}

/** An openid-client customFetch: gateway fetch + timeout + metrics + transport classification. */
function idpFetch(gw: EntraClientDeps, operationOf: (url: string) => Operation): oidc.CustomFetch {
  return async (url, options) => {
    const operation = operationOf(url);
    const timeout = AbortSignal.timeout(gw.config.entra.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const started = performance.now();
    try {
      const response = await gw.fetch(url, { ...options, signal });
      if (response.status >= 500) {
        await response.body?.cancel().catch(() => {});
        throw new IdpTransportError(`${operation}: HTTP ${response.status}`);
      }
      if ((operation === 'discovery' || operation === 'token') && response.status >= 400) {
        const explained = await explainedErrorAnswer(response);
        if (explained) throw explained;
        if (operation === 'discovery') throw new IdpTransportError(`discovery: HTTP ${response.status}`);
      }
      if (operation === 'jwks' && response.status === 200) {
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => null);
        if (!isJwks(body)) throw new IdpTransportError('jwks: not a JSON Web Key Set');
      }
      return response;
    } catch (err) {
      gw.metrics.idpErrors.inc({ operation });
      throw err instanceof IdpTransportError || err instanceof EntraError ? err : new IdpTransportError(`${operation}: request failed`, { cause: err });
    } finally {
      gw.metrics.idpLatency.observe({ operation }, (performance.now() - started) / 1000);
    }
  };
}

function requireEndpoints(server: oidc.ServerMetadata): oidc.ServerMetadata {
  for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    if (typeof server[name] !== 'string') throw new IdpTransportError(`discovery: no ${name}`);
  }
  return server;
}

export function createEntraClient(gw: EntraClientDeps): EntraClient {
  const { config } = gw;
  const timeoutS = config.entra.timeoutMs / 1000;
  const insecure = config.entra.allowInsecure;

  async function discover(tenantId: string): Promise<oidc.ServerMetadata> {
    try {
      const discovered = await oidc.discovery(new URL(tenantAuthority(config, tenantId)), DISCOVERY_CLIENT_ID, undefined, oidc.None(), {
        [oidc.customFetch]: idpFetch(gw, () => 'discovery'),
        timeout: timeoutS,
        execute: insecure ? [oidc.allowInsecureRequests] : [],
      });
      // only the enumerable metadata (openid-client adds helper functions)
      return Object.freeze(requireEndpoints({ ...discovered.serverMetadata() }));
    } catch (err) {
      throw classifyIdpError(err, 'discovery');
    }
  }

  const discoveries = new LRUCache<string, oidc.ServerMetadata>({
    max: CACHE_MAX,
    ttl: CACHE_TTL_MS,
    allowStale: true,
    noDeleteOnFetchRejection: true,
    allowStaleOnFetchRejection: true,
    fetchMethod: (tenantId) => discover(tenantId),
  });
  const jwksCaches = boundedCache<string, oidc.ExportedJWKSCache>(CACHE_MAX, { ttl: CACHE_TTL_MS });

  async function metadata(tenantId: string, options: { fresh?: boolean } = {}): Promise<oidc.ServerMetadata> {
    const key = tenantId.toLowerCase();
    if (options.fresh) {
      const server = await discover(key);
      discoveries.set(key, server);
      return server;
    }
    const server = await discoveries.fetch(key);
    if (!server) throw new EntraError('IDP_UNAVAILABLE');
    return server;
  }

  /** the WebCrypto signing key of a certificate credential (imported once per certificate) */
  const signingKeys = boundedCache<string, webcrypto.CryptoKey>(100, { ttl: CACHE_TTL_MS });
  function signingKey(cert: CertificateCredential): webcrypto.CryptoKey {
    const cacheKey = `${cert.x5tS256}.${cert.privateKeyPem.length}`;
    let key = signingKeys.get(cacheKey);
    if (!key) {
      key = createPrivateKey(cert.privateKeyPem).toCryptoKey({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
      signingKeys.set(cacheKey, key);
    }
    return key;
  }

  function clientAuth(server: oidc.ServerMetadata, app: AppCredential): oidc.ClientAuth {
    const cert = app.certificate;
    if (!cert) return oidc.ClientSecretPost(app.clientSecret);
    return oidc.PrivateKeyJwt(signingKey(cert), {
      [oidc.modifyAssertion]: (header, payload) => {
        delete header.kid;
        header['x5t#S256'] = cert.x5tS256;
        // Entra wants the token endpoint as audience (openid-client's default is the issuer)
        payload.aud = server.token_endpoint;
      },
    });
  }

  function configuration(server: oidc.ServerMetadata, app: EntraAppCredentials): oidc.Configuration {
    const c = new oidc.Configuration(
      server,
      app.clientId,
      { ...(app.certificate ? {} : { client_secret: app.clientSecret }), id_token_signed_response_alg: 'RS256', [oidc.clockTolerance]: ID_TOKEN_SKEW_S },
      clientAuth(server, app),
    );
    c.timeout = timeoutS;
    c[oidc.customFetch] = idpFetch(gw, (url) => (url === server.token_endpoint ? 'token' : url === server.jwks_uri ? 'jwks' : 'other'));
    if (insecure) oidc.allowInsecureRequests(c);
    // verify the ID token's signature with the tenant's JWKS (openid-client otherwise trusts the TLS channel)
    oidc.enableNonRepudiationChecks(c);
    const jwks = jwksCaches.get(app.tenantId.toLowerCase());
    if (jwks) oidc.setJwksCache(c, jwks);
    return c;
  }

  function keepJwks(tenantId: string, c: oidc.Configuration): void {
    const jwks = oidc.getJwksCache(c);
    if (jwks) jwksCaches.set(tenantId.toLowerCase(), jwks);
  }

  async function redeemWith(app: EntraAppCredentials, input: RedeemInput): Promise<Redeemed> {
    const c = configuration(await metadata(app.tenantId), app);
    // the callback URL rebuilt from the registered redirect URI and the two validated parameters
    const current = new URL(input.redirectUri);
    current.searchParams.set('code', input.code);
    current.searchParams.set('state', input.state);
    try {
      const tokens = await oidc.authorizationCodeGrant(c, current, {
        expectedState: input.expectedState,
        pkceCodeVerifier: input.verifier,
        expectedNonce: input.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims || typeof tokens.access_token !== 'string') throw new EntraError('SSO_TOKEN_INVALID');
      return { claims: Object.freeze({ ...claims }), accessToken: tokens.access_token };
    } catch (err) {
      throw classifyIdpError(err, 'token');
    } finally {
      keepJwks(app.tenantId, c);
    }
  }

  async function clientCredentialsWith(app: EntraAppCredentials): Promise<void> {
    const c = configuration(await metadata(app.tenantId), app);
    try {
      await oidc.clientCredentialsGrant(c, { scope: graphDefaultScope(config) });
    } catch (err) {
      throw classifyIdpError(err, 'token');
    }
  }

  /** Run `call` with the app's credential, then with each alternate while Microsoft refuses the credential itself. */
  async function withCredentials<T>(app: EntraAppCredentials, call: (creds: EntraAppCredentials) => Promise<T>): Promise<T> {
    const all: EntraAppCredentials[] = [
      app,
      ...(app.alternates ?? []).map((a) => ({
        tenantId: app.tenantId,
        clientId: app.clientId,
        clientSecret: a.clientSecret,
        certificate: a.certificate ?? null,
      })),
    ];
    let refused: unknown = null;
    for (const [i, creds] of all.entries()) {
      try {
        return await call(creds);
      } catch (err) {
        const code = err instanceof EntraError ? err.info?.code : undefined;
        if (code === undefined || !CREDENTIAL_REFUSED.has(code) || i === all.length - 1) throw err;
        gw.metrics.credentialFallbacks.inc({ refused: creds.certificate ? 'certificate' : 'secret', code });
        refused = err;
      }
    }
    throw refused;
  }

  return Object.freeze({
    metadata,

    async authorizationUrl(app: EntraAppCredentials, p: { redirectUri: string; state: string; nonce: string; verifier: string; hints?: AuthorizationHints }) {
      const c = configuration(await metadata(app.tenantId), app);
      const h = p.hints ?? {};
      return oidc.buildAuthorizationUrl(c, {
        ...(h.prompt ? { prompt: h.prompt } : {}),
        ...(h.loginHint ? { login_hint: h.loginHint } : {}),
        ...(h.domainHint ? { domain_hint: h.domainHint } : {}),
        redirect_uri: p.redirectUri,
        scope: signInScopes(config),
        response_mode: 'query',
        state: p.state,
        nonce: p.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(p.verifier),
        code_challenge_method: 'S256',
      });
    },

    redeem: (app: EntraAppCredentials, input: RedeemInput): Promise<Redeemed> => withCredentials(app, (creds) => redeemWith(creds, input)),

    clientCredentials: (app: EntraAppCredentials): Promise<void> => withCredentials(app, clientCredentialsWith),

    async graphProfile(accessToken: string): Promise<GraphProfile> {
      const url = new URL(`${config.entra.graphUrl.replace(/\/+$/, '')}/v1.0/me`);
      if (url.protocol !== 'https:' && !(insecure && url.protocol === 'http:')) throw new EntraError('SSO_MISCONFIGURED');
      url.searchParams.set('$select', 'mail,userPrincipalName');
      const call = idpFetch(gw, () => 'graph');
      try {
        const response = await call(url.href, {
          method: 'GET',
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
          body: undefined,
          redirect: 'manual',
        });
        if (response.status === 401 || response.status === 403) throw await graphRefusal(response);
        if (response.status !== 200) {
          await response.body?.cancel();
          throw new IdpTransportError(`graph: HTTP ${response.status}`);
        }
        const body = (await response.json()) as { mail?: unknown; userPrincipalName?: unknown };
        return {
          mail: typeof body.mail === 'string' ? body.mail : null,
          userPrincipalName: typeof body.userPrincipalName === 'string' ? body.userPrincipalName : null,
        };
      } catch (err) {
        throw classifyIdpError(err, 'graph');
      }
    },

    async endSessionUrl(tenantId: string, clientId: string, postLogoutRedirectUri: string, logoutHint?: string): Promise<string | null> {
      const server = await metadata(tenantId);
      if (typeof server.end_session_endpoint !== 'string') return null;
      const c = new oidc.Configuration(server, clientId);
      if (insecure) oidc.allowInsecureRequests(c);
      return oidc.buildEndSessionUrl(c, { post_logout_redirect_uri: postLogoutRedirectUri, ...(logoutHint ? { logout_hint: logoutHint } : {}) }).href;
    },
  });
}
