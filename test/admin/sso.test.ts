// Settings → Security → Single Sign-On, against the fake Entra: save, Test Connection
// (checks + the real round trip), Enable only after a passing test, the secret never shown.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeEntra } from '../../dev/fake-entra/index.ts';
import type { TestGateway } from '../support/gateway.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY, type StaffSsoSettings } from '../../src/auth/policy.ts';
import { Browser, ENTRA_USER, HOSTS, PATH, STAFF_APP, TENANTS, csrfOf, staffAdmin, startAdminGateway, startEntra, unescapeHtml, versionOf } from './helpers.ts';

const CREDS = { tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret };
const WRONG_SECRET = 'Wrong~Secret.Value_never-shown-9999';

let entra: FakeEntra;
let gw: TestGateway;
let admin: Browser;
const browsers: Browser[] = [];

async function settings(): Promise<StaffSsoSettings> {
  return { ...DEFAULT_STAFF_SSO, ...((await gw.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY))?.value ?? {}) };
}

async function newAdmin(amr: string[] = ['pwd', 'otp'], tid: string = TENANTS.staff): Promise<Browser> {
  const idp = amr.includes('sso') ? { tid, oid: ENTRA_USER.oid } : null;
  const b = new Browser(gw, HOSTS.staff, (await staffAdmin(gw, { amr, idp })).cookie);
  browsers.push(b);
  return b;
}

/** Post `action` from the SSO page with the given fields. */
function act(b: Browser, action: string, fields: Record<string, string> = {}) {
  return b.submit(PATH.sso, { action, ...fields });
}

/** Test Connection with `creds`, through Microsoft (auto-login) and back; returns the page shown after. */
async function roundTrip(b: Browser, creds: Record<string, string>) {
  const start = await act(b, 'test', creds);
  assert.equal(start.status, 303, start.body);
  assert.ok(start.location?.startsWith(`${entra.url}/${TENANTS.staff}/`), `redirected to Microsoft: ${start.location}`);
  const back = await entra.follow(start.location!);
  assert.equal(back.host, HOSTS.staff);
  const callback = await b.get(`${back.pathname}${back.search}`);
  assert.equal(callback.status, 303);
  assert.equal(callback.location, PATH.sso);
  return b.get(PATH.sso);
}

before(async () => {
  entra = await startEntra();
  entra.setAutoLogin(TENANTS.staff, ENTRA_USER.oid);
  gw = await startAdminGateway({ entra, transport: 'inject' });
});
after(async () => {
  await gw.close();
  await entra.close();
});
beforeEach(async () => {
  await gw.store.putSetting(STAFF_SSO_KEY, DEFAULT_STAFF_SSO);
  gw.core.policy.invalidate();
  admin = await newAdmin();
});

describe('staff SSO settings page', () => {
  test('shows setup steps 1–3: the redirect URI to register, the permissions and the secret advice', async () => {
    const page = await admin.get(PATH.sso);
    assert.equal(page.status, 200);
    const body = unescapeHtml(page.body);
    assert.match(body, /<details class="setup" open><summary><h2>Set up the app in Azure AD<\/h2><\/summary>/, 'open while SSO is off');
    assert.match(body, /<input id="redirect-uri-0" type="text" readonly value="http:\/\/staff\.example\.test\/\.auth\/callback"/);
    assert.match(body, /data-copy="redirect-uri-0">Copy</);
    // the signed-out page too: Entra refuses a post_logout_redirect_uri not in the app's one list
    assert.match(body, /<input id="redirect-uri-1" type="text" readonly value="http:\/\/staff\.example\.test\/\.auth\/signed-out"/);
    assert.match(body, /data-copy="redirect-uri-1">Copy</);
    assert.match(body, /AADSTS50011/);
    assert.match(body, /Token configuration → Add optional claim → ID, add <code>login_hint<\/code>/);
    for (const p of ['openid', 'profile', 'email', 'User.Read']) assert.ok(body.includes(`<code>${p}</code>`), p);
    assert.match(body, /Copy the secret value immediately — it is only shown once/);
    assert.match(body, /Enabling SSO does not disable email\/password login/);
    assert.match(body, /enforce MFA in Azure AD conditional access policies and enable SSO-only login/);
    assert.match(body, /regentra-gateway sso disable-sso-only/);
    // before the admin turns SSO-only on, the page says what it does to password sessions
    assert.match(body, /Turning it on signs out everyone who signed in with a password<\/strong>/);
    for (const id of ['tenantId', 'clientId', 'clientSecret']) assert.match(body, new RegExp(`<label for="${id}">`));
    assert.match(body, /name="clientSecret" type="password" value=""/);
    assert.match(page.headers['content-security-policy'] as string, new RegExp(`form-action 'self' ${entra.url.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(body, /<script>|style="/, 'no inline script or style');
  });

  test('save validates GUIDs, stores the secret sealed and audits the change without it', async () => {
    const bad = await act(admin, 'save', { tenantId: 'contoso.onmicrosoft.com', clientId: '123', clientSecret: STAFF_APP.clientSecret });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /The Tenant ID must be a GUID/);
    assert.match(bad.body, /The Client ID must be a GUID/);
    const consumer = await act(admin, 'save', { tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad', clientId: CREDS.clientId, clientSecret: CREDS.clientSecret });
    assert.equal(consumer.status, 400);
    assert.match(
      unescapeHtml(consumer.body),
      /This Tenant ID is the tenant of personal Microsoft accounts \(Outlook\.com, Hotmail, Xbox\), not an organisation/,
    );
    assert.equal((await settings()).tenantId, null);

    const missing = await act(admin, 'save', { tenantId: CREDS.tenantId, clientId: CREDS.clientId, clientSecret: '' });
    assert.equal(missing.status, 400);
    assert.match(missing.body, /Enter the client secret/);

    const saved = await act(admin, 'save', CREDS);
    assert.equal(saved.status, 303);
    assert.equal(saved.location, `${PATH.sso}?done=saved`);
    const s = await settings();
    assert.equal(s.tenantId, TENANTS.staff);
    assert.equal(s.clientId, STAFF_APP.clientId);
    assert.ok(s.clientSecretEnc?.startsWith('v1.'));
    assert.ok(!JSON.stringify(s).includes(STAFF_APP.clientSecret), 'the secret is sealed at rest');
    assert.equal(s.testedFingerprint, null);
    assert.equal(s.enabled, false);

    const page = await admin.get(saved.location);
    assert.match(page.body, /Secret set on \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Leave empty to keep it\./);
    assert.match(page.body, new RegExp(`id="tenantId" name="tenantId" type="text" value="${TENANTS.staff}"`));

    const [event] = await gw.store.listAudit({ type: 'settings.change', limit: 1 });
    assert.equal(event?.outcome, 'success');
    assert.deepEqual((event?.details as { changes: Record<string, unknown> }).changes.clientSecret, 'set');
    assert.ok(!JSON.stringify(event).includes(STAFF_APP.clientSecret));

    // an empty secret field keeps the stored secret
    const again = await act(admin, 'save', { tenantId: CREDS.tenantId, clientId: CREDS.clientId, clientSecret: '' });
    assert.equal(again.location, `${PATH.sso}?done=unchanged`);
    assert.equal((await settings()).clientSecretEnc, s.clientSecretEnc);
  });

  test('Enable SSO is refused for values that have not passed a test', async () => {
    const none = await act(admin, 'enable');
    assert.equal(none.status, 409);
    assert.match(none.body, /Enter and save the Tenant ID, Client ID and Client Secret first/);
    await act(admin, 'save', CREDS);
    const untested = await act(admin, 'enable');
    assert.equal(untested.status, 409);
    assert.match(untested.body, /have not passed Test Connection/);
    assert.equal((await settings()).enabled, false);
    const site = gw.core.sites.lookup(HOSTS.staff)!;
    assert.equal((await gw.core.policy.forSite(site)).sso, false);
    const [refusal] = await gw.store.listAudit({ type: 'settings.change', limit: 1 });
    assert.equal(refusal?.outcome, 'failure');
  });

  test('save, Test Connection with the saved values (round trip), then Enable', async () => {
    await act(admin, 'save', CREDS);
    const page = await roundTrip(admin, { tenantId: CREDS.tenantId, clientId: CREDS.clientId, clientSecret: '' });
    assert.match(page.body, /Test passed/);
    assert.match(page.body, /The saved settings are verified/);
    assert.match(page.body, /<dd>Grace Hopper<\/dd>/);
    assert.match(page.body, /<dd>grace@staff\.test<\/dd>/);
    assert.ok(page.body.includes(`<dd>${TENANTS.staff}</dd>`));
    assert.ok(page.body.includes(`<dd>${ENTRA_USER.oid}</dd>`));
    // no session was created: still the same admin
    const me = await admin.get('/.auth/me', { accept: 'application/json' });
    assert.deepEqual(JSON.parse(me.body).amr, ['pwd', 'otp']);
    // the result is read once
    assert.doesNotMatch((await admin.get(PATH.sso)).body, /<h3>Test passed/);

    assert.ok((await settings()).testedFingerprint);
    const enabled = await act(admin, 'enable');
    assert.equal(enabled.status, 303);
    assert.equal(enabled.location, `${PATH.sso}?done=enabled`);
    const site = gw.core.sites.lookup(HOSTS.staff)!;
    assert.deepEqual(await gw.core.policy.forSite(site), { sso: true, password: true });
    const login = await new Browser(gw, HOSTS.staff).get('/.auth/login');
    assert.match(login.body, /Sign in with Microsoft/);
    // once SSO is on, the Azure setup steps are folded away (still one click away)
    const after = await admin.get(PATH.sso);
    assert.match(after.body, /<details class="setup"><summary><h2>Set up the app in Azure AD<\/h2> <span class="hint">done/);
    assert.match(after.body, /<input id="redirect-uri-0" type="text" readonly/);
  });

  test('Test Connection on unsaved values, then “Save tested values”; Enable allowed', async () => {
    const page = await roundTrip(admin, CREDS);
    assert.match(page.body, /Tested values not saved yet/);
    assert.match(page.body, /the new secret you entered/);
    assert.equal((await settings()).tenantId, null, 'nothing saved by the test');
    const saved = await admin.send('POST', PATH.sso, { form: { csrf: csrfOf(page.body), version: versionOf(page.body), action: 'save-tested' } });
    assert.equal(saved.location, `${PATH.sso}?done=saved-tested`);
    const s = await settings();
    assert.equal(s.tenantId, TENANTS.staff);
    assert.ok(s.testedFingerprint && s.testedAt);
    assert.equal((await act(admin, 'enable')).status, 303);
    assert.equal((await settings()).enabled, true);
    // once on, new credentials must pass a test before they replace the working ones
    const untested = await act(admin, 'save', { ...CREDS, clientSecret: WRONG_SECRET });
    assert.equal(untested.status, 409);
    assert.match(untested.body, /must pass Test Connection before they replace the working ones/);
    assert.equal((await settings()).clientSecretEnc, s.clientSecretEnc);
  });

  test('Test Connection explains Microsoft’s errors and keeps nothing', async () => {
    const wrong = await act(admin, 'test', { ...CREDS, clientSecret: WRONG_SECRET });
    assert.equal(wrong.status, 200);
    const body = unescapeHtml(wrong.body);
    assert.match(body, /Test Connection failed/);
    assert.match(body, /class="ok"><strong>Reach your tenant \(discovery\)/);
    assert.match(body, /class="fail"><strong>Sign in as the app \(token request\)/);
    assert.match(body, /AADSTS7000215/);
    assert.match(body, /How to fix it:<\/strong> Paste the secret's Value/);
    assert.match(body, /enter it again/);

    const tenant = await act(admin, 'test', { ...CREDS, tenantId: '44444444-4444-4444-8444-444444444444' });
    assert.match(tenant.body, /class="fail"><strong>Reach your tenant \(discovery\)/);
    assert.match(unescapeHtml(tenant.body), /Check the Tenant ID/);

    entra.setDown(true);
    try {
      const down = await act(admin, 'test', CREDS);
      assert.match(down.body, /Test Connection failed/);
    } finally {
      entra.setDown(false);
    }
    assert.equal((await settings()).tenantId, null);
    const events = await gw.store.listAudit({ type: 'sso.test', limit: 3 });
    assert.ok(events.every((e) => e.outcome === 'failure'));
  });

  test('a test sign-in cancelled at Microsoft is shown as failed, and Enable stays refused', async () => {
    await act(admin, 'save', CREDS);
    const start = await act(admin, 'test', { tenantId: CREDS.tenantId, clientId: CREDS.clientId, clientSecret: '' });
    entra.setAutoLogin(TENANTS.staff, null);
    const back = await entra.follow(start.location!, { cancel: true }).finally(() => entra.setAutoLogin(TENANTS.staff, ENTRA_USER.oid));
    assert.ok(back.searchParams.get('error'));
    assert.equal((await admin.get(`${back.pathname}${back.search}`)).location, PATH.sso);
    const page = await admin.get(PATH.sso);
    assert.match(page.body, /Test failed/);
    assert.match(page.body, /the Microsoft sign-in did not complete/);
    assert.equal((await settings()).testedFingerprint, null);
    assert.equal((await act(admin, 'enable')).status, 409);
  });

  test('an abandoned Test Connection: the form shows the saved values, the tested ones only in a labelled banner with Test and Discard', async () => {
    const SAVED_CLIENT = 'aaaaaaaa-0000-4000-8000-00000000abcd';
    assert.equal((await act(admin, 'save', { ...CREDS, clientId: SAVED_CLIENT })).location, `${PATH.sso}?done=saved`);
    // Test Connection with other values, then the admin never comes back from Microsoft
    const start = await act(admin, 'test', CREDS);
    assert.equal(start.status, 303);
    const page = await admin.get(PATH.sso);
    const value = (id: string) => new RegExp(`<input id="${id}" name="${id}" type="text" value="([^"]*)"`).exec(page.body)?.[1];
    assert.equal(value('clientId'), SAVED_CLIENT, 'the form shows the saved client ID');
    assert.match(page.body, /<h3 id="draft-title">Untested changes from \d\d:\d\d UTC<\/h3>/);
    assert.ok(page.body.includes(`<dd>${CREDS.clientId}</dd>`), 'the banner shows the untested client ID');
    assert.match(page.body, /name="action" value="test-draft" class="btn inline">Test</);
    assert.match(page.body, /name="action" value="discard-draft" class="btn secondary inline">Discard</);

    // saving the form as shown (SSO off) keeps the saved values: the untested ones are not stored
    const form = { tenantId: value('tenantId') ?? '', clientId: value('clientId') ?? '', clientSecret: '' };
    assert.equal((await act(admin, 'save', form)).location, `${PATH.sso}?done=unchanged`);
    assert.equal((await settings()).clientId, SAVED_CLIENT);

    // Test (from the banner): the untested values go to Microsoft again, with the secret typed before
    const again = await act(admin, 'test-draft');
    assert.equal(again.status, 303, again.body);
    const authorize = new URL(again.location!);
    assert.equal(authorize.searchParams.get('client_id'), CREDS.clientId);
    const back = await entra.follow(authorize);
    assert.equal((await admin.get(`${back.pathname}${back.search}`)).location, PATH.sso);
    const passed = await admin.get(PATH.sso);
    assert.match(passed.body, /Tested values not saved yet/);
    assert.doesNotMatch(passed.body, /Untested changes from/);
    assert.equal((await settings()).clientId, SAVED_CLIENT, 'a passing test saves nothing by itself');

    // Discard: the tested values are gone, the saved ones stay
    const discarded = await act(admin, 'discard-draft');
    assert.equal(discarded.location, `${PATH.sso}?done=discarded`);
    const after = await admin.get(discarded.location);
    assert.doesNotMatch(after.body, /Untested changes from|Tested values not saved yet/);
    assert.match(after.body, /The tested values were discarded/);
    assert.equal((await settings()).clientId, SAVED_CLIENT);
    assert.equal((await act(admin, 'test-draft')).status, 409, 'nothing left to test');
  });

  test('a form rendered before another admin’s change is refused (optimistic concurrency)', async () => {
    const stale = await admin.get(PATH.sso);
    await act(await newAdmin(), 'auto-provision-on');
    const res = await admin.send('POST', PATH.sso, { form: { csrf: csrfOf(stale.body), version: versionOf(stale.body), action: 'auto-provision-off' } });
    assert.equal(res.status, 409);
    assert.match(res.body, /changed by someone else/);
    assert.equal((await settings()).autoProvision, true);
  });
});

describe('SSO-only and auto-provision', () => {
  async function enableSso(b: Browser): Promise<void> {
    await act(b, 'save', CREDS);
    await roundTrip(b, { tenantId: CREDS.tenantId, clientId: CREDS.clientId, clientSecret: '' });
    assert.equal((await act(b, 'enable')).status, 303);
  }

  test('refused for an admin who signed in with a password, allowed for an SSO session', async () => {
    await enableSso(admin);
    // someone opens the sign-in page (with its password form) before SSO-only is turned on
    const visitor = new Browser(gw, HOSTS.staff);
    const login = await visitor.get('/.auth/login');
    assert.match(login.body, /name="password"/);
    const refused = await act(admin, 'sso-only-on');
    assert.equal(refused.status, 403);
    assert.match(refused.body, /You signed in with a password/);
    assert.equal((await settings()).ssoOnly, false);

    // a Microsoft sign-in from another tenant than the configured one is no session at all
    const otherTenant = await (await newAdmin(['sso'], TENANTS.globex)).get(PATH.sso);
    assert.equal(otherTenant.status, 303);
    assert.match(otherTenant.location ?? '', /^\/\.auth\/login\?rd=/);

    const ssoAdmin = await newAdmin(['sso']);
    const ok = await act(ssoAdmin, 'sso-only-on');
    assert.equal(ok.status, 303);
    assert.equal(ok.location, `${PATH.sso}?done=sso-only-on`);
    assert.equal((await settings()).ssoOnly, true);
    const site = gw.core.sites.lookup(HOSTS.staff)!;
    assert.equal((await gw.core.policy.forSite(site)).password, false);

    // password sign-in is now refused server-side
    assert.doesNotMatch((await new Browser(gw, HOSTS.staff).get('/.auth/login')).body, /name="password"/);
    const post = await visitor.send('POST', '/.auth/login', {
      form: { csrf: csrfOf(login.body), email: 'someone@regentra.test', password: 'correct horse battery staple' },
    });
    assert.equal(post.status, 403);
    assert.match(post.body, /Password sign-in is turned off/);

    // turning SSO off turns SSO-only off with it
    assert.equal((await act(ssoAdmin, 'disable')).status, 303);
    const s = await settings();
    assert.equal(s.enabled, false);
    assert.equal(s.ssoOnly, false);
  });

  test('refused while SSO is off (where an SSO session is no session at all)', async () => {
    const res = await act(admin, 'sso-only-on');
    assert.equal(res.status, 409);
    assert.match(res.body, /Enable SSO first/);
    assert.equal((await (await newAdmin(['sso'])).get(PATH.sso)).status, 303, 'an SSO session while SSO is off is signed out');
  });

  test('auto-provision is a plain audited switch', async () => {
    assert.equal((await act(admin, 'auto-provision-on')).status, 303);
    assert.equal((await settings()).autoProvision, true);
    const [event] = await gw.store.listAudit({ type: 'settings.change', limit: 1 });
    assert.deepEqual((event?.details as { changes: unknown }).changes, { autoProvision: { from: false, to: true } });
    assert.equal((await act(admin, 'auto-provision-off')).status, 303);
    assert.equal((await settings()).autoProvision, false);
  });
});

describe('the client secret', () => {
  test('never appears in any page, redirect, header or JSON answer of this file', async () => {
    await act(admin, 'save', CREDS);
    // what an API client or another page could ask for
    await admin.get(PATH.sso, { accept: 'application/json' });
    await admin.get('/.auth/me', { accept: 'application/json' });
    await admin.get(PATH.audit);
    await admin.get(`${PATH.audit}?type=settings.change`);
    assert.ok(browsers.length > 10);
    for (const b of browsers) {
      b.assertNeverSaw(STAFF_APP.clientSecret);
      b.assertNeverSaw(WRONG_SECRET);
    }
    const audit = JSON.stringify(await gw.store.listAudit({ limit: 500 }));
    assert.ok(!audit.includes(STAFF_APP.clientSecret) && !audit.includes(WRONG_SECRET), 'nor in the audit log');
  });
});
