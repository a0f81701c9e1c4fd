// Errors as Microsoft sends them reach the administrator in plain words with the fix and
// with Microsoft's trace / correlation ids: token errors are classified from the body
// whatever the HTTP shape (401 + WWW-Authenticate included), each AADSTS code the
// stand-in answers reaches its message, and a Graph refusal is a permission problem.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertErrorPage, HOSTS, last, PORTAL_APP, startEnv, STAFF_APP, TENANTS, USERS, type Env } from './support.ts';
import { checkConnection, sealStaffSecret } from '../../../src/auth/entra/index.ts';
import { aadstsError, logFields } from '../../../src/auth/entra/errors.ts';
import type { Refusal } from '../../../dev/fake-entra/index.ts';

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const creds = (patch: Partial<{ tenantId: string; clientId: string; clientSecret: string }> = {}) => ({
  tenantId: TENANTS.staff,
  clientId: STAFF_APP.clientId,
  clientSecret: STAFF_APP.clientSecret,
  ...patch,
});

/** the "For Microsoft support" line of a page: Trace ID, Correlation ID and Timestamp as Microsoft sent them */
function assertMicrosoftIds(body: string): void {
  assert.match(body, new RegExp(`Trace ID <code>${GUID.source}</code>`));
  assert.match(body, new RegExp(`Correlation ID <code>${GUID.source}</code>`));
  assert.match(body, /Timestamp <code>\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ<\/code>/);
}

describe('Microsoft errors, as Microsoft sends them', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { autoProvision: true } });
  });
  after(() => env.close());

  test('a wrong secret answered with 401 and a WWW-Authenticate challenge is still "wrong secret", with Microsoft’s ids', async () => {
    env.fe.challengeInvalidClient(true);
    try {
      const result = await checkConnection(env.core, creds({ clientSecret: 'the-secret-id-not-the-value' }));
      assert.equal(result.ok, false);
      assert.equal(result.error?.code, 'AADSTS7000215');
      assert.match(result.error?.message ?? '', /client secret is not valid/);
      assert.match(result.error?.hint ?? '', /Secret ID/);
      assert.match(result.error?.microsoft?.traceId ?? '', GUID);
      assert.match(result.error?.microsoft?.correlationId ?? '', GUID);
      assert.match(result.error?.microsoft?.timestamp ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
      assert.ok(!JSON.stringify(result).includes('the-secret-id-not-the-value'));

      // the same at sign-in: the code redemption is refused the same way
      await env.setStaff({ clientSecretEnc: sealStaffSecret(env.core, 'the-secret-id-not-the-value') });
      const browser = env.browser();
      const page = await browser.open(await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid));
      assertErrorPage(page, 400, /AADSTS7000215/);
      assert.doesNotMatch(page.body, /could not be verified/);
      assert.match(page.body, /The client secret is not valid/);
      assertMicrosoftIds(page.body);
      const failure = (await env.gw.store.listAudit({ type: 'signin.failure' }))[0];
      assert.equal(failure?.details.aadsts, 'AADSTS7000215');
      assert.ok(!JSON.stringify(failure).includes('the-secret-id-not-the-value'));
    } finally {
      env.fe.challengeInvalidClient(false);
      await env.setStaff({ clientSecretEnc: sealStaffSecret(env.core, STAFF_APP.clientSecret) });
    }
  });

  test('an expired secret (7000222, 401 + challenge) says so, with the fix', async () => {
    env.fe.challengeInvalidClient(true);
    env.fe.refuseNext('token', 'secretExpired');
    try {
      const result = await checkConnection(env.core, creds());
      assert.equal(result.error?.code, 'AADSTS7000222');
      assert.match(result.error?.message ?? '', /client secret has expired/);
      assert.match(result.error?.hint ?? '', /Create a new client secret/);
      assert.match(result.error?.microsoft?.correlationId ?? '', GUID);
    } finally {
      env.fe.challengeInvalidClient(false);
    }
  });

  test('the portal app without a service principal in the tenant: AADSTS7000229, explained', async () => {
    env.fe.revokeConsent(TENANTS.acme, PORTAL_APP.clientId);
    try {
      const result = await checkConnection(env.core, { tenantId: TENANTS.acme, clientId: PORTAL_APP.clientId, clientSecret: PORTAL_APP.clientSecret });
      assert.equal(result.error?.code, 'AADSTS7000229');
      assert.match(result.error?.message ?? '', /no service principal/);
      assert.match(result.error?.hint ?? '', /admin consent link/);
    } finally {
      env.fe.grantConsent(TENANTS.acme, PORTAL_APP.clientId);
    }
  });

  test('a disabled app (7000112) at the token endpoint', async () => {
    env.fe.refuseNext('token', 'appDisabled');
    const result = await checkConnection(env.core, creds());
    assert.equal(result.error?.code, 'AADSTS7000112');
    assert.match(result.error?.message ?? '', /disabled in this tenant/);
    assert.match(result.error?.hint ?? '', /Enabled for users to sign in/);
  });

  const SIGN_IN_REFUSALS: ReadonlyArray<[Refusal, string, RegExp, RegExp]> = [
    ['conditionalAccess', '53003', /access policy \(Conditional Access\) blocked this sign-in/, /Sign-in logs/],
    ['mfaRequired', '50076', /requires multi-factor authentication/, /complete MFA/],
    ['appDisabled', '7000112', /application is disabled/, /Enabled for users to sign in/],
    ['idTokenNotEnabled', '700054', /not set up correctly/, /Web platform/],
  ];
  for (const [kind, n, user, hint] of SIGN_IN_REFUSALS) {
    test(`Microsoft refuses the sign-in with AADSTS${n}: the person's words, the admin's fix and Microsoft's ids`, async () => {
      env.fe.refuseNext('authorize', kind);
      const browser = env.browser();
      const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
      assert.match(callback.searchParams.get('error_description') ?? '', new RegExp(`^AADSTS${n}: `));
      const page = await browser.open(callback);
      assertErrorPage(page, 400, user);
      assert.match(page.body, new RegExp(`<strong>AADSTS${n}</strong>`));
      assert.match(page.body.replace(/&quot;/g, '"'), hint);
      assertMicrosoftIds(page.body);
      const failure = (await env.gw.store.listAudit({ type: 'signin.failure' }))[0];
      assert.equal(failure?.details.aadsts, `AADSTS${n}`);
    });
  }

  test('the refusal log line carries Microsoft’s ids (and no secret)', () => {
    const e = aadstsError(
      'invalid_client',
      'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2024-01-01 00:00:00Z',
    );
    assert.deepEqual(logFields(e).microsoft, {
      traceId: '0000aaaa-11bb-cccc-dd22-eeeeee333333',
      correlationId: 'aaaa0000-bb11-2222-33cc-444444dddddd',
      requestId: null,
      timestamp: '2024-01-01 00:00:00Z',
    });
    // the JSON body's fields win over the text; anything not shaped like an id is dropped
    const fromBody = aadstsError('invalid_client', 'AADSTS7000215: x Trace ID: <b>', undefined, {
      trace_id: '11111111-2222-4333-8444-555555555555',
      correlation_id: 'nope',
      timestamp: '2024-01-01 00:00:00Z',
    });
    assert.deepEqual(fromBody.info?.microsoft, {
      traceId: '11111111-2222-4333-8444-555555555555',
      correlationId: null,
      requestId: null,
      timestamp: '2024-01-01 00:00:00Z',
    });
  });

  for (const [kind, status, code] of [
    ['forbidden', 403, 'Authorization_RequestDenied'],
    ['invalid-token', 401, 'InvalidAuthenticationToken'],
  ] as const) {
    test(`Graph /me answers ${status} ${code}: a permission problem with its fix, not "Microsoft unavailable"`, async () => {
      env.fe.refuseGraph(kind);
      try {
        const pages = await env.browser().signIn(HOSTS.staff, USERS.grace.oid); // no email claim: Graph is asked
        const page = last(pages);
        assertErrorPage(page, 403, /did not let Regentra read your profile/);
        assert.doesNotMatch(page.body, /could not reach Microsoft/);
        assert.match(page.body, new RegExp(`<strong>GRAPH_${status}</strong>`));
        assert.match(page.body, new RegExp(code));
        assert.match(page.body, /User\.Read/);
        assert.match(page.body, new RegExp(`Request ID <code>${GUID.source}</code>`));
        assert.equal(env.fe.graphRequests.at(-1)?.status, status);
        assert.equal(await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.grace.oid), null);
      } finally {
        env.fe.refuseGraph(null);
      }
    });
  }
});
