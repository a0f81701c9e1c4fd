/**
 * Browser e2e (issue "Local accounts"): a staff member with a password and no TOTP yet
 * opens a deep link of the staff app → sign-in → email + password → enrolment (QR code
 * and the key as text) → the first code → recovery codes shown once → Continue → the
 * staff sample app shows the verified identity (amr pwd + otp) → sign out → signed out.
 * Then a second sign-in with password + TOTP: the enrolment code is refused (used once),
 * a fresh code is accepted, and the browser lands back on the deep link.
 * Screenshots: test/artifacts/password-totp/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/routing/reserved.ts';
import {
  createAccount,
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

const DEEP_LINK = '/reports/q3?year=2031&tab=overview';

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let sam: LocalAccount;
const shots = new Shots('password-totp');

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  sam = await createAccount(stack, {
    realm: 'staff',
    email: 'sam.member@regentra.test',
    name: 'Sam Member',
    role: 'member',
    password: 'correct-horse-member-e2e',
  });
  context = await newContext(browser);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

async function signInWithPassword(): Promise<void> {
  await page.getByLabel('Email').fill(sam.email);
  await page.getByLabel('Password').fill(sam.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('first sign-in enrols TOTP, shows recovery codes once and reaches the staff app; the next sign-in asks for a fresh code', async () => {
  const staff = stack.origin(HOSTS.staff);
  const rdParam = `rd=${encodeURIComponent(DEEP_LINK)}`;

  // 1. the deep link sends an anonymous browser to sign in, keeping the target
  await page.goto(`${staff}${DEEP_LINK}`);
  assert.equal(pathOf(page), `${PATHS.login}?${rdParam}`);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Sign in' }).waitFor());
  assert.equal(await page.getByText('Sign in with Microsoft').count(), 0, 'staff SSO is not configured');
  await shots.take(page, 'sign-in');

  // 2. email + password → enrolment: a QR code and the key as text
  await signInWithPassword();
  await page.waitForURL(`${staff}${PATHS.loginEnroll}`);
  await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
  const qr = page.getByRole('img', { name: /QR code to add sam\.member@regentra\.test/ });
  assert.ok(await qr.isVisible(), 'the QR code is shown');
  const box = await qr.boundingBox();
  assert.ok(box && box.width >= 150 && box.height >= 150, `the QR code is large enough to scan: ${JSON.stringify(box)}`);
  const secret = ((await page.locator('#totp-secret').textContent()) ?? '').replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/, 'the key is shown as base32 text');
  assert.ok(
    await page
      .getByRole('link', { name: 'Start over' })
      .getAttribute('href')
      .then((h) => h?.includes(rdParam)),
    'the target survives enrolment',
  );
  await shots.take(page, 'enrol');

  // 3. the first code turns TOTP on: the recovery codes, once
  const enrolCode = await totpCode(secret);
  await page.getByLabel(/Enter the code the app shows/).fill(enrolCode);
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  const codes = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const c of codes) assert.match(c, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
  assert.equal(await page.getByRole('link', { name: 'Continue' }).getAttribute('href'), DEEP_LINK, 'Continue goes to the deep link');
  await shots.take(page, 'recovery-codes');

  // 4. Continue → the staff sample app, which verified the signed identity
  await page.getByRole('link', { name: 'Continue' }).click();
  await page.waitForURL(`${staff}${DEEP_LINK}`);
  await page.getByText('Signed identity verified').waitFor();
  assert.equal(await identityRow(page, 'Name'), 'Sam Member');
  assert.equal(await identityRow(page, 'Email'), 'sam.member@regentra.test');
  assert.equal(await identityRow(page, 'Realm'), 'staff');
  assert.equal(await identityRow(page, 'Role'), 'member');
  assert.equal(await identityRow(page, 'Sign-in methods (amr)'), 'pwd, otp');
  assert.equal(await identityRow(page, 'Path'), DEEP_LINK);
  assert.equal(await identityRow(page, 'User id (sub)'), sam.user.id);
  await shots.take(page, 'staff-app');
  // a reload shows no recovery codes again: they were shown once
  await page.goto(`${staff}${PATHS.loginEnroll}`);
  assert.equal(await page.locator('#recovery-codes').count(), 0, 'the recovery codes are not shown again');
  await page.goto(`${staff}${DEEP_LINK}`);

  // 5. sign out (the app's link) → signed out, no session
  await page.getByRole('link', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.pathname === PATHS.signedOut);
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  assert.equal((await whoAmI(page)).status, 401, 'no session after sign-out');
  await shots.take(page, 'signed-out');

  // 6. the deep link again → password → the TOTP step (not enrolment)
  await page.goto(`${staff}${DEEP_LINK}`);
  assert.equal(pathOf(page), `${PATHS.login}?${rdParam}`);
  await signInWithPassword();
  await page.waitForURL(`${staff}${PATHS.loginTotp}`);
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  assert.ok((await page.getByRole('link', { name: 'Start over' }).getAttribute('href'))?.includes(rdParam), 'the target survives the password step');
  await shots.take(page, 'totp');

  // 7. the enrolment code again: refused (a code is accepted once)
  await page.getByLabel(/Authentication code/).fill(enrolCode);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(pathOf(page), PATHS.loginTotp);
  assert.match((await page.getByRole('alert').textContent()) ?? '', /code/i);
  assert.equal((await whoAmI(page)).status, 401, 'a reused code does not sign in');
  await shots.take(page, 'totp-reused-code-refused');

  // 8. a fresh code (the next time step) → back on the deep link
  const fresh = await totpCode(secret, 1);
  assert.notEqual(fresh, enrolCode);
  await page.getByLabel(/Authentication code/).fill(fresh);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${staff}${DEEP_LINK}`);
  await page.getByText('Signed identity verified').waitFor();
  assert.equal(await identityRow(page, 'Email'), 'sam.member@regentra.test');
  assert.equal(await identityRow(page, 'Sign-in methods (amr)'), 'pwd, otp');
  assert.equal(await identityRow(page, 'Path'), DEEP_LINK);
  const me = await whoAmI(page);
  assert.deepEqual(me.body?.amr, ['pwd', 'otp']);
  await shots.take(page, 'back-on-deep-link');

  // the session cookie never reached the app
  assert.doesNotMatch(await identityRow(page, 'Cookies the app sees'), /regentra/i);
});
