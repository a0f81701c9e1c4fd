/**
 * Browser e2e (#16 §1, §2): a staff admin (password + TOTP) whose staff SSO runs on a
 * client secret that expires in 10 days sees the expiry banner on every settings page;
 * on Single Sign-On → Credentials they generate a certificate, download the .cer (the
 * file Azure takes) and check its thumbprint against the page, "upload it in Azure" (the
 * stand-in), test it, and remove the old secret: the banner is gone and SSO stays on.
 * Desktop and phone screenshots: test/artifacts/sso-credentials/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/routing/reserved.ts';
import { ADMIN_PATHS } from '../../src/pages/admin.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY, type StaffSsoSettings } from '../../src/auth/policy.ts';
import { sealStaffSecret, settingsFingerprint } from '../../src/auth/entra/index.ts';
import { createAccount, DEMO, HOSTS, launchBrowser, newContext, Shots, startStack, totpCode, type LocalAccount, type Stack } from './support.ts';

const DAY = 86_400_000;
let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: LocalAccount;
const shots = new Shots('sso-credentials');

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  admin = await createAccount(stack, {
    realm: 'staff',
    email: 'ada.credentials@regentra.test',
    name: 'Ada',
    role: 'admin',
    password: 'correct-horse-admin-e2e',
    totp: true,
  });
  const creds = { tenantId: DEMO.staffTenant, clientId: DEMO.staffApp.clientId, clientSecret: DEMO.staffApp.clientSecret };
  const settings: StaffSsoSettings = {
    ...DEFAULT_STAFF_SSO,
    tenantId: creds.tenantId,
    clientId: creds.clientId,
    clientSecretEnc: sealStaffSecret(stack.core, creds.clientSecret),
    secretSetAt: Date.now() - 700 * DAY,
    secretExpiresAt: Date.now() + 10 * DAY,
    testedFingerprint: settingsFingerprint(stack.core, creds),
    testedAt: Date.now() - 700 * DAY,
    enabled: true,
  };
  await stack.store.putSetting(STAFF_SSO_KEY, settings);
  stack.core.policy.invalidate();
  context = await newContext(browser);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

test('the expiry banner, then a certificate generated, downloaded, uploaded, tested; the old secret removed', async () => {
  const staff = stack.origin(HOSTS.staff);
  const sso = `${staff}${ADMIN_PATHS.sso}`;
  await page.goto(`${staff}${PATHS.login}?rd=${encodeURIComponent(ADMIN_PATHS.sso)}`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${staff}${PATHS.loginTotp}`);
  await page.getByLabel(/Authentication code/).fill(await totpCode(admin.secret!));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(sso);

  // 1. the banner, on every settings page
  const banner = page.locator('[data-banner="credential-expiry"]');
  await banner.waitFor();
  assert.match((await banner.textContent()) ?? '', /The client secret of the staff app expires in (9|10) days/);
  await shots.take(page, 'expiry-banner');
  await page.goto(`${staff}${ADMIN_PATHS.audit}`);
  await banner.waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  await shots.take(page, 'expiry-banner-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  await banner.getByRole('link', { name: /Add a new credential/ }).click();
  await page.waitForURL(`${sso}#credentials`);

  // 2. generate a certificate
  await page.getByLabel('Valid for').selectOption('730');
  await page.getByRole('button', { name: 'Generate certificate' }).click();
  await page.waitForURL(`${sso}?cred=generated#credentials`);
  await page.getByRole('status').filter({ hasText: 'Certificate generated' }).waitFor();
  const thumbprint = await page.getByLabel('Thumbprint (SHA-1, as Azure shows it)').inputValue();
  assert.match(thumbprint, /^[0-9A-F]{40}$/);
  await page.locator('#credentials').scrollIntoViewIfNeeded();
  await shots.take(page, 'certificate-generated');

  // 3. download the .cer: the DER certificate whose SHA-1 is the thumbprint shown
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download certificate (.cer)' }).click()]);
  assert.match(download.suggestedFilename(), /^regentra-staff-sso-[0-9a-f]{8}\.cer$/);
  const der = readFileSync(await download.path());
  const x = new X509Certificate(der);
  assert.equal(createHash('sha1').update(x.raw).digest('hex').toUpperCase(), thumbprint);
  assert.ok(x.validTo && Date.parse(x.validTo) > Date.now() + 700 * DAY, 'valid for two years');

  // 4. "upload it in Azure", then test it
  stack.fe.uploadCertificate(DEMO.staffApp.clientId, der);
  await page.getByRole('button', { name: 'Test Connection with this certificate' }).click();
  await page.waitForURL(`${sso}?cred=tested#credentials`);
  await page.getByRole('status').filter({ hasText: 'Test Connection passed with the certificate' }).waitFor();
  assert.equal(stack.fe.tokenRequests.at(-1)?.clientAuth, 'private_key_jwt');

  // 5. remove the expiring secret: the banner goes, SSO stays on
  await page.getByRole('button', { name: 'Remove the client secret' }).click();
  await page.waitForURL(`${sso}?cred=secret-removed#credentials`);
  assert.equal(await banner.count(), 0, 'nothing expires within 30 days any more');
  await page.getByRole('heading', { name: /Single Sign-On\s+Enabled/ }).waitFor();
  await page.locator('#credentials').scrollIntoViewIfNeeded();
  await shots.take(page, 'secret-removed');
  await page.setViewportSize({ width: 390, height: 844 });
  await shots.take(page, 'credentials-phone');
});
