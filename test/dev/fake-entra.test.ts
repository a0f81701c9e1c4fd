// The Entra ID stand-in, exercised with the same openid-client v6 calls the gateway uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { FakeEntraPageError, startFakeEntra, type FakeEntra } from '../../dev/fake-entra/index.ts';

const CONTOSO = '6f1f3c2e-0b7a-4c55-9d3e-1a2b3c4d5e6f';
const FABRIKAM = '0c9d8e7f-6a5b-4c3d-8e2f-1f0e9d8c7b6a';
/** a tenant whose users may consent to apps for themselves */
const NORTHWIND = '7e7e7e7e-1b1b-4c4c-8d8d-2f2f2f2f2f2f';
const UNKNOWN_TENANT = 'deadbeef-0000-4000-8000-000000000000';

const ADA = { oid: 'a1a1a1a1-0000-4000-8000-00000000000a', name: 'Ada Lovelace', preferredUsername: 'ada@contoso.test', email: 'ada@contoso.test' };
const GRACE = {
  oid: 'b2b2b2b2-0000-4000-8000-00000000000b',
  name: 'Grace Hopper',
  preferredUsername: 'grace@contoso.onmicrosoft.test',
  mail: 'grace.hopper@contoso.test',
  userPrincipalName: 'grace@contoso.onmicrosoft.test',
};
const LINUS = { oid: 'c3c3c3c3-0000-4000-8000-00000000000c', name: 'Linus Torvalds', preferredUsername: 'linus@fabrikam.test', email: 'linus@fabrikam.test' };
/** an email address in a domain the tenant has not verified */
const MALLORY = {
  oid: 'd4d4d4d4-0000-4000-8000-00000000000d',
  name: 'Mallory',
  preferredUsername: 'mallory@contoso.test',
  email: 'ceo@fabrikam.test',
  emailVerified: false,
};
const NORA = { oid: 'e5e5e5e5-0000-4000-8000-00000000000e', name: 'Nora North', preferredUsername: 'nora@northwind.test', email: 'nora@northwind.test' };
const NED = { oid: 'f6f6f6f6-0000-4000-8000-00000000000f', name: 'Ned North', preferredUsername: 'ned@northwind.test', email: 'ned@northwind.test' };

const REDIRECT = 'http://127.0.0.1:9/auth/callback';
const LOGGED_OUT = 'http://127.0.0.1:9/signed-out';
const STAFF = {
  clientId: '11111111-aaaa-4bbb-8ccc-000000000001',
  clientSecret: 'staff-secret~value',
  homeTenant: CONTOSO,
  multiTenant: false,
  redirectUris: [REDIRECT, LOGGED_OUT],
};
/** the staff app's twin that asks for the optional claims */
const CLAIMS_APP = {
  ...STAFF,
  clientId: '33333333-aaaa-4bbb-8ccc-000000000003',
  optionalClaims: ['xms_edov', 'login_hint'] as Array<'xms_edov' | 'login_hint'>,
};
const PORTAL = {
  clientId: '22222222-aaaa-4bbb-8ccc-000000000002',
  clientSecret: 'portal-secret~value',
  homeTenant: CONTOSO,
  multiTenant: true,
  redirectUris: [REDIRECT],
};
const SCOPE = 'openid profile email offline_access User.Read';

let fe: FakeEntra;

before(async () => {
  fe = await startFakeEntra({
    tenants: [
      { id: CONTOSO, name: 'Contoso', users: [ADA, GRACE, MALLORY] },
      { id: FABRIKAM, name: 'Fabrikam', users: [LINUS] },
      { id: NORTHWIND, name: 'Northwind', users: [NORA, NED], allowUserConsent: true },
    ],
    apps: [STAFF, PORTAL, CLAIMS_APP],
  });
});
after(() => fe.close());

function discover(tenant: string, app: { clientId: string; clientSecret: string }, secret = app.clientSecret, auth = client.ClientSecretPost) {
  return client.discovery(new URL(`${fe.url}/${tenant}/v2.0`), app.clientId, undefined, auth(secret), {
    execute: [client.allowInsecureRequests],
  });
}

async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

/** Sign `oid` in (auto-login) and redeem the code. */
async function signIn(tenant: string, app: typeof STAFF | typeof PORTAL, oid: string, extra: Record<string, string> = {}) {
  const config = await discover(tenant, app);
  const { url, checks } = await authorizationRequest(config, extra);
  fe.setAutoLogin(tenant, oid);
  try {
    const callback = await fe.follow(url);
    return { config, tokens: await client.authorizationCodeGrant(config, callback, checks) };
  } finally {
    fe.setAutoLogin(tenant, null);
  }
}

async function graphMe(accessToken: string) {
  const res = await fetch(`${fe.graphUrl}/v1.0/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function rawToken(tenant: string, params: Record<string, string>) {
  const res = await fetch(`${fe.url}/${tenant}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(params) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('discovery and keys', () => {
  test('each tenant has its own issuer and Entra-shaped endpoints', async () => {
    for (const tenant of [CONTOSO, FABRIKAM]) {
      const meta = (await discover(tenant, STAFF)).serverMetadata();
      assert.equal(meta.issuer, `${fe.url}/${tenant}/v2.0`);
      assert.equal(meta.authorization_endpoint, `${fe.url}/${tenant}/oauth2/v2.0/authorize`);
      assert.equal(meta.token_endpoint, `${fe.url}/${tenant}/oauth2/v2.0/token`);
      assert.equal(meta.jwks_uri, `${fe.url}/${tenant}/discovery/v2.0/keys`);
      assert.equal(meta.end_session_endpoint, `${fe.url}/${tenant}/oauth2/v2.0/logout`);
      assert.equal(meta.userinfo_endpoint, `${fe.graphUrl}/oidc/userinfo`);
      assert.deepEqual(meta.id_token_signing_alg_values_supported, ['RS256']);
    }
    const jwks = (await (await fetch(`${fe.url}/${CONTOSO}/discovery/v2.0/keys`)).json()) as { keys: Array<Record<string, string>> };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.kty, 'RSA');
    assert.equal(jwks.keys[0]?.use, 'sig');
    assert.equal(jwks.keys[0]?.issuer, `${fe.url}/${CONTOSO}/v2.0`);
    assert.equal(jwks.keys[0]?.d, undefined, 'no private key material');
  });

  test('an unknown tenant answers AADSTS90002 at discovery and authorize', async () => {
    await assert.rejects(discover(UNKNOWN_TENANT, STAFF));
    for (const path of ['v2.0/.well-known/openid-configuration', `oauth2/v2.0/authorize?client_id=${STAFF.clientId}`]) {
      const res = await fetch(`${fe.url}/${UNKNOWN_TENANT}/${path}`);
      assert.equal(res.status, 400);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.error, 'invalid_tenant');
      assert.match(String(body.error_description), new RegExp(`^AADSTS90002: Tenant '${UNKNOWN_TENANT}' not found`));
      assert.deepEqual(body.error_codes, [90002]);
    }
  });
});

describe('authorization code flow', () => {
  test('auto-login yields a valid, Entra-shaped ID token, Graph token and refresh token', async () => {
    const before = { authorize: fe.authorizeRequests.length, token: fe.tokenRequests.length };
    const { tokens } = await signIn(CONTOSO, STAFF, ADA.oid);
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.ver, '2.0');
    assert.equal(claims.iss, `${fe.url}/${CONTOSO}/v2.0`);
    assert.equal(claims.aud, STAFF.clientId);
    assert.equal(claims.tid, CONTOSO);
    assert.equal(claims.oid, ADA.oid);
    assert.equal(claims.name, 'Ada Lovelace');
    assert.equal(claims.preferred_username, 'ada@contoso.test');
    assert.equal(claims.email, 'ada@contoso.test');
    assert.equal(claims.nbf, claims.iat);
    assert.ok(claims.exp > claims.iat);
    assert.equal(typeof claims.uti, 'string');
    assert.match(claims.sub, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(claims.sub, ADA.oid, 'sub is pairwise, not the oid');
    const header = decodeProtectedHeader(tokens.id_token ?? '');
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid);

    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
    assert.match(String(tokens.scope), /User\.Read/);
    const me = await graphMe(tokens.access_token);
    assert.equal(me.status, 200);
    assert.equal(me.body.id, ADA.oid);

    // sub: stable per user and app, different for another app
    const again = (await signIn(CONTOSO, STAFF, ADA.oid)).tokens.claims();
    const other = (await signIn(CONTOSO, PORTAL, ADA.oid)).tokens.claims();
    assert.equal(again?.sub, claims.sub);
    assert.notEqual(other?.sub, claims.sub);

    // what the client sent is recorded
    const authz = fe.authorizeRequests[before.authorize];
    assert.equal(authz?.tenant, CONTOSO);
    assert.equal(authz?.params.code_challenge_method, 'S256');
    assert.equal(authz?.params.scope, SCOPE);
    assert.ok(authz?.params.state && authz.params.nonce && authz.params.code_challenge);
    const tok = fe.tokenRequests[before.token];
    assert.equal(tok?.params.grant_type, 'authorization_code');
    assert.equal(tok?.clientAuth, 'client_secret_post');
    assert.equal(tok?.clientId, STAFF.clientId);
    assert.ok(tok?.params.code_verifier);
    assert.equal(tok?.params.client_secret, '[redacted]');
    assert.ok(!JSON.stringify(fe.tokenRequests).includes(STAFF.clientSecret), 'secrets are never recorded');
  });

  test('the refresh token can be redeemed for a new Entra-shaped ID token', async () => {
    const { config, tokens } = await signIn(CONTOSO, STAFF, ADA.oid);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    assert.equal(refreshed.claims()?.oid, ADA.oid);
    assert.equal(refreshed.claims()?.ver, '2.0');
  });

  test('a user without email gets no email claim; Graph /me has mail and UPN', async () => {
    const { tokens } = await signIn(CONTOSO, STAFF, GRACE.oid);
    assert.equal(tokens.claims()?.email, undefined);
    const me = await graphMe(tokens.access_token);
    assert.equal(me.status, 200);
    assert.equal(me.body.mail, 'grace.hopper@contoso.test');
    assert.equal(me.body.userPrincipalName, 'grace@contoso.onmicrosoft.test');
    assert.equal(me.body.displayName, 'Grace Hopper');

    const bad = await graphMe(`${tokens.access_token.slice(0, -4)}AAAA`);
    assert.equal(bad.status, 401);
    assert.equal((bad.body.error as Record<string, unknown>).code, 'InvalidAuthenticationToken');
  });

  test('without auto-login the sign-in page lists the users; choosing or cancelling works', async () => {
    const config = await discover(CONTOSO, STAFF);
    const { url, checks } = await authorizationRequest(config);
    const first = await fetch(url, { redirect: 'manual' });
    assert.equal(first.status, 303);
    const page = await fetch(new URL(first.headers.get('location') ?? '', url), {
      headers: {
        cookie: first.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; '),
      },
    });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>Sign in — Entra stand-in \(Contoso\)<\/title>/);
    assert.match(html, /Sign in as Ada Lovelace/);
    assert.match(html, /Sign in as Grace Hopper/);
    assert.match(html, />Cancel</);

    await assert.rejects(fe.follow(url), FakeEntraPageError);
    const callback = await fe.follow(url, { as: GRACE.oid });
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    assert.equal(tokens.claims()?.oid, GRACE.oid);

    const cancelled = await authorizationRequest(config);
    const denied = await fe.follow(cancelled.url, { cancel: true });
    assert.equal(denied.searchParams.get('error'), 'access_denied');
    // Entra's redirect errors end with its trace lines, CRLF-separated
    assert.match(
      denied.searchParams.get('error_description') ?? '',
      /^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    assert.equal(denied.searchParams.get('state'), cancelled.checks.expectedState);
    await assert.rejects(client.authorizationCodeGrant(config, denied, cancelled.checks), client.AuthorizationResponseError);
  });

  test('prompt=none without a session is answered with login_required (AADSTS50058)', async () => {
    const config = await discover(CONTOSO, STAFF);
    const { url } = await authorizationRequest(config, { prompt: 'none' });
    const callback = await fe.follow(url);
    assert.equal(callback.searchParams.get('error'), 'login_required');
    assert.match(callback.searchParams.get('error_description') ?? '', /^AADSTS50058: /);
    assert.equal(callback.searchParams.get('iss'), null, 'Entra sends no iss parameter');
  });
});

describe('client authentication and client credentials', () => {
  test('a wrong secret gives AADSTS7000215 (post and basic)', async () => {
    for (const auth of [client.ClientSecretPost, client.ClientSecretBasic]) {
      const config = await discover(CONTOSO, STAFF, 'not-the-secret', auth);
      const { url, checks } = await authorizationRequest(config);
      fe.setAutoLogin(CONTOSO, ADA.oid);
      const callback = await fe.follow(url).finally(() => fe.setAutoLogin(CONTOSO, null));
      const err = await client.authorizationCodeGrant(config, callback, checks).then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof client.ResponseBodyError);
      assert.equal(err.status, 401);
      assert.equal(err.error, 'invalid_client');
      assert.match(err.error_description ?? '', /^AADSTS7000215: Invalid client secret provided\./);
      const body = err.cause as Record<string, unknown>;
      assert.deepEqual(body.error_codes, [7000215]);
      for (const field of ['timestamp', 'trace_id', 'correlation_id']) assert.equal(typeof body[field], 'string', field);
    }
    assert.equal(fe.tokenRequests.at(-1)?.clientAuth, 'client_secret_basic');
  });

  test('client credentials: success, wrong secret, unknown app, missing /.default', async () => {
    const config = await discover(CONTOSO, STAFF);
    const ok = await client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' });
    assert.ok(ok.access_token);
    assert.equal(ok.scope, undefined);
    const me = await graphMe(ok.access_token);
    assert.equal(me.status, 400, '/me needs a delegated token');

    const wrong = await discover(CONTOSO, STAFF, 'nope');
    await assert.rejects(client.clientCredentialsGrant(wrong, { scope: 'https://graph.microsoft.com/.default' }), (e: unknown) => {
      assert.ok(e instanceof client.ResponseBodyError);
      assert.equal(e.error, 'invalid_client');
      assert.match(e.error_description ?? '', /^AADSTS7000215: /);
      return true;
    });

    const unknown = await rawToken(CONTOSO, {
      grant_type: 'client_credentials',
      client_id: '99999999-aaaa-4bbb-8ccc-000000000009',
      client_secret: 'x',
      scope: 'https://graph.microsoft.com/.default',
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'unauthorized_client');
    assert.match(
      String(unknown.body.error_description),
      /^AADSTS700016: Application with identifier '99999999-aaaa-4bbb-8ccc-000000000009' was not found in the directory 'Contoso'/,
    );

    const notDefault = await rawToken(CONTOSO, {
      grant_type: 'client_credentials',
      client_id: STAFF.clientId,
      client_secret: STAFF.clientSecret,
      scope: 'User.Read',
    });
    assert.equal(notDefault.status, 400);
    assert.deepEqual(notDefault.body.error_codes, [1002012]);
  });
});

describe('multi-tenant apps and admin consent', () => {
  test('a single-tenant app in another tenant is not found (AADSTS700016)', async () => {
    const config = await discover(FABRIKAM, STAFF);
    const { url } = await authorizationRequest(config);
    await assert.rejects(fe.follow(url), (e: unknown) => {
      assert.ok(e instanceof FakeEntraPageError);
      assert.equal(e.status, 400);
      assert.match(e.message, /AADSTS700016: Application with identifier '11111111-aaaa-4bbb-8ccc-000000000001' was not found in the directory 'Fabrikam'/);
      return true;
    });
  });

  test('a foreign tenant needs admin consent (AADSTS65001), then sign-in works', async () => {
    const config = await discover(FABRIKAM, PORTAL);
    const { url, checks } = await authorizationRequest(config);
    fe.setAutoLogin(FABRIKAM, LINUS.oid);
    try {
      const refused = await fe.follow(url);
      assert.equal(refused.origin + refused.pathname, REDIRECT);
      assert.equal(refused.searchParams.get('error'), 'invalid_client');
      assert.match(
        refused.searchParams.get('error_description') ?? '',
        /^AADSTS65001: The user or administrator has not consented to use the application with ID '22222222-aaaa-4bbb-8ccc-000000000002'/,
      );
      assert.equal(refused.searchParams.get('state'), checks.expectedState);
      await assert.rejects(client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' }), (e: unknown) => {
        // an app-only token names the missing service principal (401 invalid_client), as Entra does
        assert.ok(e instanceof client.ResponseBodyError);
        assert.equal(e.status, 401);
        assert.match(
          e.error_description ?? '',
          new RegExp(`^AADSTS7000229: The client application ${PORTAL.clientId} is missing service principal in the tenant ${FABRIKAM}`),
        );
        return true;
      });

      // an unregistered redirect_uri gets an error page, never a redirect
      const evil = `${fe.url}/${FABRIKAM}/v2.0/adminconsent?${new URLSearchParams({ client_id: PORTAL.clientId, redirect_uri: 'https://evil.test/cb', state: 's' })}`;
      await assert.rejects(fe.follow(evil), /AADSTS50011/);

      // admin says no, then yes (the page is answered by follow(); auto-login would accept at once)
      fe.setAutoLogin(FABRIKAM, null);
      const consentUrl = `${fe.url}/${FABRIKAM}/v2.0/adminconsent?${new URLSearchParams({ client_id: PORTAL.clientId, redirect_uri: REDIRECT, state: 'consent-state', scope: 'https://graph.microsoft.com/.default' })}`;
      const page = await fetch(consentUrl);
      assert.match(await page.text(), /Grant consent for Fabrikam/);
      const declined = await fe.follow(consentUrl, { cancel: true });
      assert.equal(declined.searchParams.get('error'), 'access_denied');
      assert.match(declined.searchParams.get('error_description') ?? '', /^AADSTS65004: /);
      assert.equal(declined.searchParams.get('tenant'), FABRIKAM);
      const accepted = await fe.follow(consentUrl);
      assert.equal(accepted.searchParams.get('admin_consent'), 'True');
      assert.equal(accepted.searchParams.get('tenant'), FABRIKAM);
      assert.equal(accepted.searchParams.get('state'), 'consent-state');
      assert.deepEqual(
        fe.consentCallbacks.map((c) => c.outcome),
        ['declined', 'accepted'],
      );

      fe.setAutoLogin(FABRIKAM, LINUS.oid);
      const retry = await authorizationRequest(config);
      const tokens = await client.authorizationCodeGrant(config, await fe.follow(retry.url), retry.checks);
      assert.equal(tokens.claims()?.tid, FABRIKAM);
      assert.equal(tokens.claims()?.iss, `${fe.url}/${FABRIKAM}/v2.0`);
      assert.ok((await client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' })).access_token);
    } finally {
      fe.setAutoLogin(FABRIKAM, null);
      fe.revokeConsent(FABRIKAM, PORTAL.clientId);
    }
  });
});

describe('scripted failures', () => {
  // openid-client checks the ID token's signature only with enableNonRepudiationChecks
  // (by default it trusts the TLS channel to the token endpoint, as OIDC Core allows).
  async function redeemWith(override: Parameters<FakeEntra['overrideNextIdToken']>[0], nonRepudiation = false) {
    const config = await discover(CONTOSO, STAFF);
    if (nonRepudiation) client.enableNonRepudiationChecks(config);
    const { url, checks } = await authorizationRequest(config);
    fe.setAutoLogin(CONTOSO, ADA.oid);
    const callback = await fe.follow(url).finally(() => fe.setAutoLogin(CONTOSO, null));
    fe.overrideNextIdToken(override);
    return client.authorizationCodeGrant(config, callback, checks);
  }

  test('overrideNextIdToken produces ID tokens that openid-client rejects, once', async () => {
    await assert.rejects(
      redeemWith((c) => ({ claims: { ...c, aud: 'someone-else' } })),
      client.ClientError,
    );
    await assert.rejects(
      redeemWith((c) => ({ claims: { ...c, nonce: 'replayed' } })),
      client.ClientError,
    );
    await assert.rejects(
      redeemWith((c) => ({ claims: { ...c, iss: 'https://login.microsoftonline.com/x/v2.0' } })),
      client.ClientError,
    );
    await assert.rejects(
      redeemWith(() => ({ alg: 'none' })),
      client.ClientError,
    );
    await assert.rejects(
      redeemWith(() => ({ alg: 'ES256' })),
      client.ClientError,
    );
    await assert.rejects(redeemWith(() => ({ raw: 'not-a-jwt' })));
    await assert.rejects(redeemWith(() => ({ unknownKey: true }), true));
    const signed = await redeemWith((c) => ({ claims: { ...c, name: 'Renamed' } }), true);
    assert.equal(signed.claims()?.name, 'Renamed', 'claims re-signed by the tenant key validate');
    const ok = await redeemWith(null, true);
    assert.equal(ok.claims()?.oid, ADA.oid);
  });

  test('setDown, setGarbage and setDelay break discovery and keys on demand', async () => {
    try {
      fe.setDown(true);
      const res = await fetch(`${fe.url}/${CONTOSO}/v2.0/.well-known/openid-configuration`);
      assert.equal(res.status, 503);
      await res.body?.cancel();
      await assert.rejects(discover(CONTOSO, STAFF));
      fe.setDown('reset');
      await assert.rejects(fetch(`${fe.url}/${CONTOSO}/v2.0/.well-known/openid-configuration`));
      fe.setDown(false);

      fe.setGarbage('discovery');
      await assert.rejects(discover(CONTOSO, STAFF));
      fe.setGarbage('jwks');
      await assert.rejects(redeemWith(null, true));
      fe.setGarbage(null);

      fe.setDelay(400);
      const started = Date.now();
      await assert.rejects(fetch(`${fe.url}/${CONTOSO}/discovery/v2.0/keys`, { signal: AbortSignal.timeout(100) }));
      const slow = await fetch(`${fe.url}/${CONTOSO}/discovery/v2.0/keys`);
      assert.equal(slow.status, 200);
      await slow.body?.cancel();
      assert.ok(Date.now() - started >= 400);
    } finally {
      fe.setDown(false);
      fe.setGarbage(null);
      fe.setDelay(0);
    }
    assert.ok((await discover(CONTOSO, STAFF)).serverMetadata().issuer);
  });
});

describe('sign-out', () => {
  test('end-session redirects to a registered post_logout_redirect_uri, else shows "You signed out"', async () => {
    const config = await discover(CONTOSO, STAFF);
    const url = client.buildEndSessionUrl(config, { post_logout_redirect_uri: LOGGED_OUT, state: 'bye' });
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${LOGGED_OUT}?state=bye`);

    const bare = await fetch(`${fe.url}/${CONTOSO}/oauth2/v2.0/logout`, { redirect: 'manual' });
    assert.equal(bare.status, 200);
    assert.match(await bare.text(), /You signed out of your account/);
  });
});

describe('strict: as Microsoft documents it', () => {
  test("one redirect-URI list per app: a post_logout_redirect_uri not in it is AADSTS50011, on Microsoft's page", async () => {
    const config = await discover(CONTOSO, STAFF);
    const unregistered = client.buildEndSessionUrl(config, { post_logout_redirect_uri: 'https://evil.test/' });
    const res = await fetch(unregistered, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /AADSTS50011: The redirect URI &#39;https:\/\/evil.test\/&#39; specified in the request does not match/);
    // the portal app does not list LOGGED_OUT: what one app registered does not count for another
    const other = client.buildEndSessionUrl(await discover(CONTOSO, PORTAL), { post_logout_redirect_uri: LOGGED_OUT });
    assert.equal((await fetch(other, { redirect: 'manual' })).status, 400);
    // and a signed-out URI in the list is a redirect_uri like any other (one list)
    const { url } = await authorizationRequest(config, { redirect_uri: LOGGED_OUT });
    fe.setAutoLogin(CONTOSO, ADA.oid);
    try {
      assert.equal((await fe.follow(url)).origin + (await fe.follow(url)).pathname, LOGGED_OUT);
    } finally {
      fe.setAutoLogin(CONTOSO, null);
    }
  });

  test('an unverified email is left out of the ID token unless the app asks for xms_edov; optional claims only when asked', async () => {
    const plain = (await signIn(CONTOSO, STAFF, MALLORY.oid)).tokens.claims();
    assert.equal(plain?.email, undefined, 'unverified email omitted');
    assert.equal(plain?.xms_edov, undefined);
    assert.equal(plain?.login_hint, undefined);
    const asked = (await signIn(CONTOSO, CLAIMS_APP, MALLORY.oid)).tokens.claims();
    assert.equal(asked?.email, 'ceo@fabrikam.test');
    assert.equal(asked?.xms_edov, false);
    assert.equal(typeof asked?.login_hint, 'string');
    const verified = (await signIn(CONTOSO, STAFF, ADA.oid)).tokens.claims();
    assert.equal(verified?.email, ADA.email);
    assert.equal(verified?.xms_edov, undefined, 'xms_edov only when requested');
    assert.equal((await signIn(CONTOSO, CLAIMS_APP, ADA.oid)).tokens.claims()?.xms_edov, true);
  });

  test('Graph answers /me only for a token with a permission to read the user', async () => {
    const { tokens } = await signIn(CONTOSO, STAFF, ADA.oid, { scope: 'openid profile email' });
    assert.equal(decodeJwt(tokens.access_token).aud, '00000003-0000-0000-c000-000000000000');
    const denied = await graphMe(tokens.access_token);
    assert.equal(denied.status, 403);
    assert.equal((denied.body.error as { code?: string }).code, 'Authorization_RequestDenied');
    const ok = await graphMe((await signIn(CONTOSO, STAFF, ADA.oid)).tokens.access_token);
    assert.equal(ok.status, 200);
  });

  test("the browser's Microsoft session signs in silently — even another tenant's account — unless prompt asks for the picker", async () => {
    const browser = fe.browser();
    const staff = await discover(CONTOSO, STAFF);
    const first = await authorizationRequest(staff);
    await client.authorizationCodeGrant(staff, await fe.follow(first.url, { as: ADA.oid, browser }), first.checks);
    // no prompt: Ada again, without a page
    const again = await authorizationRequest(staff);
    const silent = await client.authorizationCodeGrant(staff, await fe.follow(again.url, { browser }), again.checks);
    assert.equal(silent.claims()?.oid, ADA.oid);
    // prompt=select_account: the account picker
    const picked = await authorizationRequest(staff, { prompt: 'select_account' });
    await assert.rejects(fe.follow(picked.url, { browser }), /the sign-in page was shown/);
    const grace = await client.authorizationCodeGrant(staff, await fe.follow(picked.url, { browser, as: GRACE.oid }), picked.checks);
    assert.equal(grace.claims()?.oid, GRACE.oid);

    // another tenant, no prompt: Grace's session is used there, and Fabrikam refuses her (AADSTS50020)
    fe.grantConsent(FABRIKAM, PORTAL.clientId);
    try {
      const portal = await discover(FABRIKAM, PORTAL);
      const foreign = await authorizationRequest(portal);
      fe.setAutoLogin(FABRIKAM, LINUS.oid); // the stand-in's auto-login does not beat a session either
      await assert.rejects(
        fe.follow(foreign.url, { browser }),
        /AADSTS50020: User account 'grace@contoso.onmicrosoft.test'.*does not exist in tenant 'Fabrikam'/,
      );
      const chosen = await authorizationRequest(portal, { prompt: 'select_account' });
      const linus = await client.authorizationCodeGrant(portal, await fe.follow(chosen.url, { browser }), chosen.checks);
      assert.equal(linus.claims()?.tid, FABRIKAM);
    } finally {
      fe.setAutoLogin(FABRIKAM, null);
      fe.revokeConsent(FABRIKAM, PORTAL.clientId);
    }
  });

  test('sign-out asks which account unless logout_hint names it (the login_hint claim)', async () => {
    const browser = fe.browser();
    const config = await discover(CONTOSO, CLAIMS_APP);
    const req = await authorizationRequest(config);
    const tokens = await client.authorizationCodeGrant(config, await fe.follow(req.url, { as: ADA.oid, browser }), req.checks);
    const hint = String(tokens.claims()?.login_hint);
    await assert.rejects(
      fe.follow(client.buildEndSessionUrl(config, { post_logout_redirect_uri: LOGGED_OUT }), { browser }),
      /stopped at .*\/logout: HTTP 200/,
    );
    const out = await fe.follow(client.buildEndSessionUrl(config, { post_logout_redirect_uri: LOGGED_OUT, logout_hint: hint }), { browser });
    assert.equal(out.href, LOGGED_OUT);
    // signed out at Microsoft: the next sign-in shows the picker again
    const next = await authorizationRequest(config);
    await assert.rejects(fe.follow(next.url, { browser }), /the sign-in page was shown/);
  });

  test('user consent, where the tenant allows it: "Permissions requested", then the app is present in the tenant (kind user)', async () => {
    const config = await discover(NORTHWIND, PORTAL);
    assert.equal(fe.consentKind(NORTHWIND, PORTAL.clientId), null);
    await assert.rejects(client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' }), (e: unknown) => {
      assert.ok(e instanceof client.ResponseBodyError);
      assert.match(e.error_description ?? '', /^AADSTS700016: /, 'no service principal yet');
      return true;
    });
    // Nora signs in and sees the permissions page: Cancel is AADSTS65004, and nothing changes
    const first = await authorizationRequest(config);
    const declined = await fe.follow(first.url, { as: NORA.oid, cancel: true });
    assert.equal(declined.searchParams.get('error'), 'access_denied');
    assert.match(declined.searchParams.get('error_description') ?? '', /^AADSTS65004: /);
    assert.equal(fe.consentKind(NORTHWIND, PORTAL.clientId), null);
    // Accept: a code for Nora, and the app's service principal exists in Northwind
    const second = await authorizationRequest(config);
    const tokens = await client.authorizationCodeGrant(config, await fe.follow(second.url, { as: NORA.oid }), second.checks);
    assert.equal(tokens.claims()?.tid, NORTHWIND);
    assert.equal(fe.consentKind(NORTHWIND, PORTAL.clientId), 'user');
    assert.ok((await client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' })).access_token, 'app-only tokens now work');
    // Nora's consent is hers: Ned is asked too
    const ned = await authorizationRequest(config);
    const nedDeclined = await fe.follow(ned.url, { as: NED.oid, cancel: true });
    assert.equal(nedDeclined.searchParams.get('error'), 'access_denied');
    // an admin's consent covers everyone
    fe.grantConsent(NORTHWIND, PORTAL.clientId);
    assert.equal(fe.consentKind(NORTHWIND, PORTAL.clientId), 'admin');
    const byAdmin = await authorizationRequest(config);
    const cb = await fe.follow(byAdmin.url, { as: NED.oid, cancel: true });
    assert.ok(cb.searchParams.has('code'), 'no permissions page after admin consent');
  });
});
