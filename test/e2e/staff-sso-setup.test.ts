/**
 * Browser e2e (issue "Entra ID", staff part — steps 4–6 of the documentation): a staff
 * admin signed in with password + TOTP opens Settings → Security → Single Sign-On, reads
 * the redirect URI, enters the stand-in's single-tenant app, runs Test Connection (the
 * connection check, then a real round trip through the stand-in's sign-in page) and comes
 * back to "Test passed" with the claims — still in the same password session. Then: save
 * the tested values, enable SSO, sign out; the sign-in page offers "Sign in with Microsoft",
 * which lands on the staff app with amr sso and no TOTP prompt. The client secret never
 * appears in a page. Screenshots: test/artifacts/staff-sso-setup/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/routing/reserved.ts';
import { linkIdentity } from '../../src/auth/password/users.ts';
import { ADMIN_PATHS } from '../../src/pages/admin.ts';
import {
  createAccount,
  DEMO,
  HOSTS,
  identityRow,
  launchBrowser,
  newContext,
  pathOf,
  Shots,
  startStack,
  totpCode,
  whoAmI,
  type LocalAccount,
  type Stack,
} from './support.ts';

const ada = DEMO.tenants[0]!.users[0]!; // Ada Admin in Regentra's staff directory
const SECRET = DEMO.staffApp.clientSecret;

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: LocalAccount;
const shots = new Shots('staff-sso-setup');
/** every URL the tab navigated to */
const visited: string[] = [];

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  admin = await createAccount(stack, { realm: 'staff', email: ada.email!, name: ada.name, role: 'admin', password: 'correct-horse-admin-e2e', totp: true });
  context = await newContext(browser);
  page = await context.newPage();
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) visited.push(frame.url());
  });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

/** The page's HTML must not contain the client secret (nor its URL-encoded form). */
async function assertNoSecret(where: string): Promise<void> {
  const content = await page.content();
  assert.ok(!content.includes(SECRET) && !content.includes(encodeURIComponent(SECRET)), `the client secret appears in ${where}`);
}

test('a staff admin sets up, tests and enables staff SSO, then signs in with Microsoft', async () => {
  const staff = stack.origin(HOSTS.staff);
  const sso = `${staff}${ADMIN_PATHS.sso}`;

  // 1. the settings need a staff admin: password + TOTP
  await page.goto(`${staff}${ADMIN_PATHS.home}`);
  assert.equal(pathOf(page), `${PATHS.login}?rd=${encodeURIComponent(ADMIN_PATHS.home)}`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await shots.take(page, 'admin-sign-in');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${staff}${PATHS.loginTotp}`);
  await page.getByLabel(/Authentication code/).fill(await totpCode(admin.secret!));
  await shots.take(page, 'admin-totp');
  await page.getByRole('button', { name: 'Verify' }).click();

  // 2. Settings → Security → Single Sign-On
  await page.waitForURL(sso);
  await page
    .getByRole('heading', { name: /Single Sign-On/ })
    .first()
    .waitFor();
  const initial = await whoAmI(page);
  assert.deepEqual(initial.body?.amr, ['pwd', 'otp']);
  const redirectUri = await page.getByLabel('Redirect URI 1 of 2').inputValue();
  assert.equal(redirectUri, `${staff}${PATHS.callback}`, 'the redirect URI to register carries the public scheme, host and port');
  assert.equal(await page.getByLabel('Redirect URI 2 of 2').inputValue(), `${staff}${PATHS.signedOut}`, 'and the signed-out page');
  await shots.take(page, 'sso-settings');

  // 3. the stand-in's app: Tenant ID, Client ID, Client Secret → Test Connection
  await page.getByLabel(/^Tenant ID/).fill(DEMO.staffTenant);
  await page.getByLabel(/^Client ID/).fill(DEMO.staffApp.clientId);
  await page.getByLabel(/^Client Secret/).fill(SECRET);
  assert.equal(await page.getByLabel(/^Client Secret/).getAttribute('type'), 'password', 'the secret is masked');
  await shots.take(page, 'sso-details-entered');
  await page.getByRole('button', { name: 'Test Connection' }).click();

  // the connection check passed: the browser is at the stand-in's sign-in page
  await page.waitForURL((u) => u.origin === stack.fe.url);
  assert.match(page.url(), new RegExp(`/${DEMO.staffTenant}/`), 'the sign-in is at the tenant entered');
  await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
  assert.match((await page.locator('.sub').first().textContent()) ?? '', /continue to staff\.localhost/);
  await shots.take(page, 'test-connection-microsoft');
  await page.getByRole('button', { name: `Sign in as ${ada.name}` }).click();

  // 4. back on the settings page: Test passed with what Microsoft sent back
  await page.waitForURL(sso);
  const passed = page.locator('.panel[role=status]', { hasText: 'Test passed' });
  await passed.waitFor();
  const claims = ((await passed.textContent()) ?? '').replace(/\s+/g, ' ');
  for (const v of [ada.name, ada.email!, DEMO.staffTenant, ada.oid]) assert.ok(claims.includes(v), `the result shows ${v}: ${claims}`);
  assert.match(claims, /No session was created/);
  const afterTest = await whoAmI(page);
  assert.deepEqual(afterTest.body?.amr, ['pwd', 'otp'], 'still the password session');
  assert.equal(afterTest.body?.sid, initial.body?.sid, 'the same session');
  assert.equal(afterTest.body?.idp, null, 'no Microsoft identity was attached to the session');
  await assertNoSecret('the test result page');
  const tests = await stack.store.listAudit({ realm: 'staff', type: 'sso.test' });
  assert.ok(
    tests.some((e) => e.outcome === 'success' && (e.details as { step?: string }).step === 'connection'),
    'the connection check passed',
  );
  assert.ok(
    tests.some((e) => e.outcome === 'success' && (e.details as { step?: string }).step === undefined),
    'the test sign-in passed',
  );
  await shots.take(page, 'test-passed');

  // 5. save the tested values
  await page.getByRole('button', { name: 'Save tested values' }).click();
  await page.waitForURL(`${sso}?done=saved-tested`);
  await page.getByRole('status').filter({ hasText: 'These values passed Test Connection' }).waitFor();
  assert.equal(await page.getByLabel(/^Tenant ID/).inputValue(), DEMO.staffTenant);
  assert.equal(await page.getByLabel(/^Client ID/).inputValue(), DEMO.staffApp.clientId);
  assert.equal(await page.getByLabel(/^Client Secret/).inputValue(), '', 'the saved secret is not sent back');
  await assertNoSecret('the settings page after saving');
  await shots.take(page, 'saved');

  // 6. Enable SSO
  await page.getByRole('button', { name: 'Enable SSO' }).click();
  await page.waitForURL(`${sso}?done=enabled`);
  await page.getByRole('heading', { name: /Single Sign-On\s+Enabled/ }).waitFor();
  await assertNoSecret('the settings page after enabling');
  await shots.take(page, 'enabled');

  // every other settings page: no secret either
  await page.goto(`${staff}${ADMIN_PATHS.portal('acme')}`);
  await page.getByRole('heading', { name: /Authentication — Acme Corp/ }).waitFor();
  await assertNoSecret('the portal settings page');
  await page.goto(`${staff}${ADMIN_PATHS.audit}`);
  await page
    .getByRole('heading', { name: /Audit log/ })
    .first()
    .waitFor();
  await assertNoSecret('the audit log');
  await shots.take(page, 'audit-log');

  // the operator links Ada's Microsoft identity to her account (an email never links an admin)
  await linkIdentity(stack.store, admin.user, { tid: DEMO.staffTenant, oid: ada.oid }, { actor: 'e2e', now: () => Date.now() - 60_000 });

  // 7. sign out → the sign-in page now offers Microsoft
  await page.getByRole('link', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.pathname === PATHS.signedOut);
  assert.equal((await whoAmI(page)).status, 401);
  await shots.take(page, 'signed-out');
  await page.getByRole('link', { name: 'Sign in again' }).click();
  await page.waitForURL((u) => u.pathname === PATHS.login);
  const microsoft = page.getByRole('link', { name: 'Sign in with Microsoft' });
  assert.ok(await microsoft.isVisible(), 'Sign in with Microsoft is offered');
  assert.ok(await page.getByLabel('Password').isVisible(), 'password sign-in stays available (SSO-only is off)');
  await shots.take(page, 'sign-in-with-microsoft');

  // 8. Sign in with Microsoft → Ada → the staff app, amr sso, no TOTP prompt
  const mark = visited.length;
  await microsoft.click();
  await page.waitForURL((u) => u.origin === stack.fe.url);
  await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
  await shots.take(page, 'microsoft-account-picker');
  await page.getByRole('button', { name: `Sign in as ${ada.name}` }).click();
  await page.waitForURL((u) => u.origin === staff && !u.pathname.startsWith('/.auth/'));
  await page.getByText('Signed identity verified').waitFor();
  assert.equal(await identityRow(page, 'Email'), ada.email);
  assert.equal(await identityRow(page, 'Role'), 'admin');
  const amr = (await identityRow(page, 'Sign-in methods (amr)')).split(/,\s*/);
  assert.ok(amr.includes('sso'), `amr has sso: ${amr.join(',')}`);
  assert.ok(!amr.includes('otp'), 'no gateway TOTP for an SSO sign-in');
  const path = visited.slice(mark).map((u) => new URL(u).pathname);
  assert.ok(!path.some((p) => p === PATHS.loginTotp || p === PATHS.loginEnroll), `no TOTP prompt on the way: ${path.join(' → ')}`);
  const me = await whoAmI(page);
  assert.deepEqual((me.body?.idp as { tid?: string } | null)?.tid, DEMO.staffTenant);
  await shots.take(page, 'staff-app-sso');
});
