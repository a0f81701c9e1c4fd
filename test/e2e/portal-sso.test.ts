/**
 * Browser e2e (issue "Entra ID", portal part): a staff admin picks Acme in the settings'
 * client switcher, enters Acme's tenant ID on Portal → Authentication and enables Entra
 * SSO; Acme's Azure admin opens the admin consent link and accepts. Then a user of Acme's
 * tenant signs in with Microsoft on acme.localhost and lands on the portal sample app
 * (realm portal:acme). Finally a user of another tenant (Contoso) tries the same on Acme's
 * portal: the sign-in is pinned to Acme's tenant, so the stand-in is made to answer with a
 * token naming Contoso's tenant (tid and iss) and Contoso's user — the gateway shows a clear
 * refusal page, starts no session, and nothing reaches the portal app.
 * Screenshots: test/artifacts/portal-sso/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { PATHS } from '../../src/routing/reserved.ts';
import { ADMIN_PATHS } from '../../src/pages/admin.ts';
import { createAccount, DEMO, HOSTS, identityRow, launchBrowser, newContext, pathOf, Shots, startStack, totpCode, whoAmI, type Stack } from './support.ts';

const acmeTenant = DEMO.tenants[1]!;
const contosoTenant = DEMO.tenants[2]!;
const wile = acmeTenant.users[0]!;
const mallory = contosoTenant.users[0]!;
const DEEP_LINK = '/tickets/42?view=full';

let stack: Stack;
let browser: Browser;
const shots = new Shots('portal-sso');

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

async function newPage(): Promise<Page> {
  return (await newContext(browser)).newPage();
}

test("a staff admin turns on Acme's portal SSO and Acme's Azure admin grants consent", async () => {
  const admin = await createAccount(stack, {
    realm: 'staff',
    email: 'ada.admin@regentra.test',
    name: 'Ada Admin',
    role: 'admin',
    password: 'correct-horse-admin-e2e',
    totp: true,
  });
  const staff = stack.origin(HOSTS.staff);
  const page = await newPage();

  await page.goto(`${staff}${ADMIN_PATHS.home}`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${staff}${PATHS.loginTotp}`);
  await page.getByLabel(/Authentication code/).fill(await totpCode(admin.secret!));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${staff}${ADMIN_PATHS.sso}`);

  // the sidebar's client switcher: Acme
  // (choosing submits at once: the page script; without script the Switch button does)
  const acmeSettings = `${staff}${ADMIN_PATHS.portal('acme')}`;
  await Promise.all([page.waitForURL(acmeSettings), page.getByLabel('Client', { exact: true }).selectOption({ label: 'Acme Corp' })]);
  await page.getByRole('heading', { name: /Authentication — Acme Corp\s+Entra SSO off/ }).waitFor();
  assert.equal(await page.getByLabel('Client', { exact: true }).inputValue(), 'acme', 'the switcher shows the client in context');
  await shots.take(page, 'portal-authentication-acme');

  // Acme's tenant ID, Enable Entra SSO, Save
  await page.getByLabel(/Azure AD tenant ID/).fill(acmeTenant.id);
  await page.getByLabel(/Enable Entra SSO/).check();
  assert.ok(await page.getByLabel(/Allow email and password sign-in/).isChecked(), 'password sign-in stays allowed by default');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(`${acmeSettings}?done=saved`);
  await page.getByRole('heading', { name: /Authentication — Acme Corp\s+Entra SSO on/ }).waitFor();
  const consentUrl = await page.getByLabel('Admin consent link').inputValue();
  assert.ok(consentUrl.startsWith(`${stack.fe.url}/${acmeTenant.id}/v2.0/adminconsent?`), consentUrl);
  assert.match((await page.locator('main').textContent()) ?? '', /has not granted consent yet/);
  await shots.take(page, 'portal-sso-enabled');

  // Acme's Azure admin (another browser, no Regentra account) opens the link and accepts
  const azureAdmin = await newPage();
  await azureAdmin.goto(consentUrl);
  await azureAdmin.getByRole('heading', { name: `Grant consent for ${acmeTenant.name}` }).waitFor();
  await shots.take(azureAdmin, 'admin-consent-microsoft');
  await azureAdmin.getByRole('button', { name: 'Accept' }).click();
  await azureAdmin.waitForURL((u) => u.origin === staff && u.pathname === PATHS.consentCallback);
  await azureAdmin.getByRole('heading', { name: 'Consent granted' }).waitFor();
  await shots.take(azureAdmin, 'admin-consent-recorded');
  await azureAdmin.context().close();

  // the settings page shows the consent
  await page.reload();
  await page.getByText(/consented by an administrator on/).waitFor();
  await shots.take(page, 'portal-consent-granted');
  await page.context().close();
});

test("a user of Acme's tenant signs in with Microsoft on Acme's portal", async () => {
  const acme = stack.origin(HOSTS.acme);
  const page = await newPage();
  const seen = stack.portalApp.received.length;

  await page.goto(`${acme}${DEEP_LINK}`);
  assert.equal(pathOf(page), `${PATHS.login}?rd=${encodeURIComponent(DEEP_LINK)}`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.match((await page.locator('.site-name').textContent()) ?? '', /Acme Corp/);
  assert.equal(stack.portalApp.received.length, seen, 'nothing reached the portal app before sign-in');
  await shots.take(page, 'acme-portal-sign-in');

  await page.getByRole('link', { name: 'Sign in with Microsoft' }).click();
  await page.waitForURL((u) => u.origin === stack.fe.url);
  assert.equal(stack.fe.authorizeRequests.at(-1)?.tenant, acmeTenant.id, "the authorize request is pinned to Acme's tenant");
  assert.equal(stack.fe.authorizeRequests.at(-1)?.params.client_id, DEMO.portalApp.clientId, "through Regentra's multi-tenant app");
  await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
  await shots.take(page, 'acme-microsoft-account-picker');
  await page.getByRole('button', { name: `Sign in as ${wile.name}` }).click();

  await page.waitForURL(`${acme}${DEEP_LINK}`);
  await page.getByText('Signed identity verified').waitFor();
  assert.equal(await identityRow(page, 'Name'), wile.name);
  assert.equal(await identityRow(page, 'Email'), wile.email);
  assert.equal(await identityRow(page, 'Realm'), 'portal:acme');
  assert.equal(await identityRow(page, 'Client'), 'acme');
  assert.ok((await identityRow(page, 'Sign-in methods (amr)')).split(/,\s*/).includes('sso'));
  assert.equal(await identityRow(page, 'Path'), DEEP_LINK);
  assert.ok(
    stack.portalApp.received.slice(seen).some((r) => r.url === DEEP_LINK && r.host.startsWith(`${HOSTS.acme}:`)),
    'the signed-in request reached the portal app',
  );
  const me = await whoAmI(page);
  assert.equal((me.body?.idp as { tid?: string } | null)?.tid, acmeTenant.id);
  await shots.take(page, 'acme-portal-app');
  await page.context().close();
});

test("a user of another tenant (Contoso) is refused on Acme's portal: no session, nothing reaches the app", async () => {
  const acme = stack.origin(HOSTS.acme);
  const page = await newPage();
  const seen = stack.portalApp.received.length;

  await page.goto(`${acme}${DEEP_LINK}`);
  await page.getByRole('link', { name: 'Sign in with Microsoft' }).click();
  await page.waitForURL((u) => u.origin === stack.fe.url);
  assert.equal(stack.fe.authorizeRequests.at(-1)?.tenant, acmeTenant.id, "the sign-in is pinned to Acme's tenant");
  // A pinned authority only lists Acme's accounts: the stand-in cannot sign Contoso's user in
  // here. Make it answer as if Microsoft had returned Contoso's user from Contoso's directory.
  assert.equal(await page.getByRole('button', { name: `Sign in as ${mallory.name}` }).count(), 0);
  stack.fe.overrideNextIdToken((claims) => ({
    claims: {
      ...claims,
      tid: contosoTenant.id,
      iss: String(claims.iss).replace(acmeTenant.id, contosoTenant.id),
      oid: mallory.oid,
      sub: `contoso-${mallory.oid}`,
      name: mallory.name,
      preferred_username: mallory.preferredUsername,
      email: mallory.email,
    },
  }));
  // the callback redirects (303) to /.auth/error, which shows the refusal
  const callback = page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.callback);
  const refusal = page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.error);
  await page.getByRole('button', { name: `Sign in as ${wile.name}` }).click();
  assert.equal((await callback).status(), 303);
  assert.equal((await refusal).status(), 403);
  await page.getByRole('heading', { name: 'Wrong organisation' }).waitFor();
  assert.equal(pathOf(page), PATHS.error, 'the address bar holds no code or state');
  const text = ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ');
  assert.match(text, /Your account belongs to another organisation's directory, not the one this site signs in with/);
  assert.match(text, /Reference: [0-9a-f-]{36}/, 'a reference for support');
  assert.ok(!text.includes(mallory.email!), "the page does not echo the other tenant's account");
  const back = page.getByRole('link', { name: 'Back to sign-in' });
  assert.ok(await back.isVisible(), 'a way back');
  assert.equal(await back.getAttribute('href'), `${PATHS.login}?rd=${encodeURIComponent(DEEP_LINK)}`, 'the way back keeps the deep link');
  await shots.take(page, 'contoso-user-refused');
  // a reload shows the same refusal (it used to replay the callback: "already used")
  const reference = /Reference: [0-9a-f-]{36}/.exec(text)?.[0];
  await page.reload();
  await page.getByRole('heading', { name: 'Wrong organisation' }).waitFor();
  const reloaded = ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ');
  assert.ok(reference && reloaded.includes(reference), 'the same reference after a reload');

  // no session, no account, nothing upstream
  assert.equal((await whoAmI(page)).status, 401, 'no session');
  await page.goto(`${acme}${DEEP_LINK}`);
  assert.equal(pathOf(page), `${PATHS.login}?rd=${encodeURIComponent(DEEP_LINK)}`, 'still asked to sign in');
  assert.equal(await stack.store.getUserByExternalId('portal:acme', contosoTenant.id, mallory.oid), null, 'no account was created');
  assert.equal(await stack.store.getUserByEmail('portal:acme', mallory.email!), null);
  assert.equal(stack.portalApp.received.length, seen, 'nothing reached the portal app');
  const audit = await stack.store.listAudit({ realm: 'portal:acme' });
  assert.ok(
    audit.some((e) => e.type === 'signin.failure' && (e.details as { code?: string }).code === 'SSO_WRONG_TENANT'),
    'the refusal is audited',
  );
  await page.context().close();
});
