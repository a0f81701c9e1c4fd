/**
 * Browser e2e (issue #15 §1): a staff admin signs in with password + TOTP, opens
 * Settings → People, adds a person and gets their one-time set-up link; the person opens
 * it in their own browser, chooses a password, sets up the authenticator and reaches the
 * staff app; the link does not work a second time. The admin then disables the account
 * through the confirmation step, and the person's session ends. Desktop and phone widths.
 * Screenshots: test/artifacts/people/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { PATHS } from '../../src/routing/reserved.ts';
import { createAccount, HOSTS, identityRow, launchBrowser, newContext, Shots, startStack, totpCode, whoAmI, type LocalAccount, type Stack } from './support.ts';

let stack: Stack;
let browser: Browser;
let adminAccount: LocalAccount;
const shots = new Shots('people');

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  adminAccount = await createAccount(stack, {
    realm: 'staff',
    email: 'ada.admin@regentra.test',
    name: 'Ada Admin',
    role: 'admin',
    password: 'correct-horse-admin-e2e',
    totp: true,
  });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

async function signInAdmin(page: Page): Promise<void> {
  await page.goto(`${stack.origin(HOSTS.staff)}/.auth/admin/people/staff`);
  await page.getByLabel('Email').fill(adminAccount.email);
  await page.getByLabel('Password').fill(adminAccount.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel(/Authentication code/).fill(await totpCode(adminAccount.secret as string));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'People' }).waitFor();
}

test('an admin adds a person; the set-up link sets a password and an authenticator, once; the admin disables the account', async () => {
  const adminCtx = await newContext(browser);
  const admin = await adminCtx.newPage();
  await signInAdmin(admin);
  assert.ok(await admin.getByRole('link', { name: 'Staff accounts' }).getAttribute('aria-current'), 'People is the current nav entry');
  await shots.take(admin, 'people-list');

  // add a person → the link, shown once
  await admin.getByRole('link', { name: 'Add a person' }).click();
  await admin.getByLabel('Email').fill('Nia.New@regentra.test');
  await admin.getByLabel('Name').fill('Nia New');
  await shots.take(admin, 'add-form');
  await admin.getByRole('button', { name: 'Add and make a set-up link' }).click();
  await admin.getByRole('heading', { name: 'Account created' }).waitFor();
  const link = await admin.getByLabel('Set-up link').inputValue();
  assert.match(link, new RegExp(`^${stack.origin(HOSTS.staff).replace(/[.]/g, '\\.')}/\\.auth/setup\\?token=[A-Za-z0-9_-]{43}$`));
  await shots.take(admin, 'link-shown-once');

  // the person, in their own browser
  const personCtx = await newContext(browser);
  const person = await personCtx.newPage();
  await person.goto(link);
  await person.getByRole('heading', { name: 'Set up your account' }).waitFor();
  await shots.take(person, 'setup-form');
  await person.getByLabel(/New password/).fill('velvet-comet-ninety-rivers');
  await person.getByLabel('Repeat the password').fill('velvet-comet-ninety-rivers');
  await person.getByRole('button', { name: 'Set password and continue' }).click();
  await person.waitForURL(`${stack.origin(HOSTS.staff)}${PATHS.loginEnroll}`);
  const secret = ((await person.locator('#totp-secret').textContent()) ?? '').replace(/\s+/g, '');
  await person.getByLabel(/Enter the code the app shows/).fill(await totpCode(secret));
  await person.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await person.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  await person.getByRole('link', { name: 'Continue' }).click();
  await person.getByText('Signed identity verified').waitFor();
  assert.equal(await identityRow(person, 'Email'), 'nia.new@regentra.test');
  assert.equal(await identityRow(person, 'Sign-in methods (amr)'), 'pwd, otp');
  await shots.take(person, 'staff-app');

  // her own account page: the authenticator, 10 recovery codes, this session
  await person.goto(`${stack.origin(HOSTS.staff)}${PATHS.account}`);
  await person.getByRole('heading', { name: 'Your account' }).waitFor();
  assert.equal(await person.locator('#recovery-left').textContent(), '10 of 10');
  assert.equal(await person.getByText('This device').count(), 1);
  await shots.take(person, 'own-account');
  await person.setViewportSize({ width: 390, height: 844 });
  await shots.take(person, 'phone-own-account');
  const accountOverflow = await person.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  assert.ok(accountOverflow <= 1, `the account page does not scroll sideways on a phone (${accountOverflow}px)`);

  // the link again: used
  const other = await (await newContext(browser)).newPage();
  await other.goto(link);
  await other.getByRole('heading', { name: 'This link was already used' }).waitFor();
  await shots.take(other, 'link-used');

  // the admin finds her, sees the authenticator on, and disables the account (confirmation first)
  await admin.goto(`${stack.origin(HOSTS.staff)}/.auth/admin/people/staff`);
  await admin.getByLabel('Search by name or email').fill('nia');
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByRole('link', { name: 'Nia New' }).click();
  await admin.getByRole('heading', { name: 'Nia New' }).waitFor();
  assert.match((await admin.locator('dl.kv').textContent()) ?? '', /Authenticator on/);
  await shots.take(admin, 'account');
  await admin.getByRole('button', { name: 'Disable' }).click();
  await admin.getByRole('heading', { name: 'Disable this account?' }).waitFor();
  await shots.take(admin, 'confirm-disable');
  await admin.getByRole('button', { name: 'Disable' }).click();
  await admin.getByText('Disabled: their sessions end within seconds.').waitFor();
  await shots.take(admin, 'disabled');

  // her session ends (the revocation bound is a few seconds)
  const deadline = Date.now() + 12_000;
  let status = 200;
  while (Date.now() < deadline && status === 200) {
    status = (await whoAmI(person)).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(status, 401, 'the disabled person is signed out');

  // phone width: the list and an account page
  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.goto(`${stack.origin(HOSTS.staff)}/.auth/admin/people/staff`);
  await shots.take(admin, 'phone-people-list');
  const listOverflow = await admin.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  assert.ok(listOverflow <= 1, `the list does not scroll sideways on a phone (${listOverflow}px)`);
  await admin.getByRole('link', { name: 'Nia New' }).click();
  await shots.take(admin, 'phone-account');
  const overflow = await admin.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
});
