// Microsoft's errors (error + error_description with an AADSTS code) become a friendly
// page with the correlation id and time, and a "For your administrator" box with the fix;
// Microsoft's own text is never echoed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertErrorPage, HOSTS, PORTAL_APP, startEnv, STAFF_APP, TENANTS, USERS, type Env } from './support.ts';
import { describeAadsts } from '../../../src/auth/entra/index.ts';
import { sealStaffSecret } from '../../../src/auth/entra/index.ts';

const HINTS: ReadonlyArray<[string, RegExp]> = [
  ['65001', /admin consent/i],
  ['65004', /declined/i],
  ['50020', /tenant other than the one configured/],
  ['50105', /not assigned/],
  ['700016', /not found in this tenant/],
  ['7000215', /client secret is not valid/],
  ['7000222', /client secret has expired/],
  ['50011', /redirect URI/],
  ['90002', /tenant was not found/],
];

describe('AADSTS errors', () => {
  test('describeAadsts explains every code admins meet, and nothing else', () => {
    for (const [n, pattern] of HINTS) {
      const info = describeAadsts(`AADSTS${n}: Something Microsoft said. Trace ID: x Correlation ID: y Timestamp: z`);
      assert.ok(info, n);
      assert.equal(info.code, `AADSTS${n}`);
      assert.match(`${info.message} ${info.hint}`, pattern, n);
      assert.ok(info.hint && info.hint.length > 20, `${n} has a hint`);
      assert.ok(!info.message.includes('Something Microsoft said'));
    }
    assert.equal(describeAadsts('AADSTS123456: unknown')?.code, 'AADSTS123456');
    assert.equal(describeAadsts('no code here'), null);
    assert.equal(describeAadsts(undefined), null);
  });

  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { autoProvision: true } });
  });
  after(() => env.close());

  for (const [n, pattern] of HINTS) {
    test(`callback with AADSTS${n}: page with the administrator hint`, async () => {
      const browser = env.browser();
      const state = (await browser.start(HOSTS.staff)).searchParams.get('state') ?? '';
      const description = `AADSTS${n}: <script>alert(1)</script> Trace ID: 1 Correlation ID: 2 Timestamp: 2024-01-01 00:00:00Z`;
      const page = await browser.open(
        `http://${HOSTS.staff}/.auth/callback?error=invalid_request&error_description=${encodeURIComponent(description)}&state=${encodeURIComponent(state)}`,
      );
      assertErrorPage(page, 400, /For your administrator/);
      assert.match(page.body, new RegExp(`AADSTS${n}`));
      assert.match(page.body, pattern);
      assert.ok(!page.body.includes('<script>alert'), 'nothing of Microsoft text is echoed');
      assert.ok(!page.body.includes('Correlation ID: 2'));
    });
  }

  test('an error callback without any sign-in in progress still explains itself', async () => {
    const page = await env.browser().open(`http://${HOSTS.staff}/.auth/callback?error=invalid_client&error_description=AADSTS65001%3A+consent`);
    assertErrorPage(page, 400, /AADSTS65001/);
  });

  test('a client tenant without admin consent: Microsoft answers 65001 and the page says what to do', async () => {
    env.fe.revokeConsent(TENANTS.acme, PORTAL_APP.clientId);
    try {
      const browser = env.browser();
      const callback = await browser.atMicrosoft(await browser.start(HOSTS.acme), USERS.alice.oid);
      assert.equal(callback.searchParams.get('error'), 'invalid_client');
      const page = await browser.open(callback);
      assertErrorPage(page, 400, /not yet approved this application/);
      assert.match(page.body, /AADSTS65001/);
      assert.match(page.body, /admin consent link/);
    } finally {
      env.fe.grantConsent(TENANTS.acme, PORTAL_APP.clientId);
    }
  });

  test('the person cancels at Microsoft (65004)', async () => {
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.staff);
    const callback = await env.fe.follow(authorize, { cancel: true });
    const page = await browser.open(callback);
    assertErrorPage(page, 400, /AADSTS65004/);
  });

  test('a wrong client secret in the settings: the token request fails with 7000215 and the page says so', async () => {
    await env.setStaff({ clientSecretEnc: sealStaffSecret(env.core, 'the-secret-id-not-the-value') });
    try {
      const browser = env.browser();
      const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
      const page = await browser.open(callback);
      assertErrorPage(page, 400, /AADSTS7000215/);
      assert.match(page.body, /not its &quot;Secret ID&quot;/);
      const failure = (await env.gw.store.listAudit({ type: 'signin.failure' }))[0];
      assert.equal(failure?.details.aadsts, 'AADSTS7000215');
      assert.ok(!JSON.stringify(failure).includes('the-secret-id-not-the-value'));
    } finally {
      await env.setStaff({ clientSecretEnc: sealStaffSecret(env.core, STAFF_APP.clientSecret) });
    }
  });
});
