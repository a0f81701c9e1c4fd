/**
 * Browser e2e (issue "Admin and user experience"): the pages of the gateway on every path
 * people meet them, in Debian's Chromium, at desktop and phone width.
 *
 * - the 421 page of an unknown host, a 404 and a 400 are styled (inline CSS, CSP hash);
 * - after sign-out, Back does not show the signed-in page (Clear-Site-Data);
 * - the settings' client switcher switches on choice (script) and with its button (no
 *   script), and the chosen client stays selected on the SSO page and the audit log;
 * - an abandoned Test Connection leaves the saved values in the form and a banner with
 *   Test and Discard;
 * - the staff sample app links a staff admin to the settings;
 * - every element that takes keyboard focus shows a solid outline of ≥ 2px with ≥ 3:1
 *   contrast against what surrounds it (WCAG 2.2 SC 1.4.11, 2.4.7), on the sign-in page and
 *   the settings pages (axe-core runs on every screenshot: support.ts, assertAccessible);
 * - the error states of the forms (sign-in refused, field errors on People and SSO) pass axe.
 * Screenshots: test/artifacts/ux/ (looked at for every change).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/routing/reserved.ts';
import { ADMIN_PATHS } from '../../src/pages/admin.ts';
import {
  assertAccessible,
  CACHEABLE_PREFIX,
  contrastRatio,
  createAccount,
  focusRings,
  DEMO,
  HOSTS,
  launchBrowser,
  newContext,
  pathOf,
  Shots,
  startStack,
  totpCode,
  type LocalAccount,
  type Stack,
} from './support.ts';

let stack: Stack;
let browser: Browser;
let accounts = 0;
const shots = new Shots('ux');
const PHONE = { width: 390, height: 844 };

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

/** A new staff account for each sign-in (a TOTP code is accepted once per account and time step). */
function account(role: 'admin' | 'member'): Promise<LocalAccount> {
  const n = ++accounts;
  return createAccount(stack, {
    realm: 'staff',
    email: `${role}${n}@regentra.test`,
    name: role === 'admin' ? `Ada Admin ${n}` : `Sam Member ${n}`,
    role,
    password: `correct-horse-${role}-ux-${n}`,
    totp: true,
  });
}

/** A fresh browser tab; CSP violations and failed requests are collected. */
async function tab(options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await (options.javaScriptEnabled === false
    ? browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC', javaScriptEnabled: false })
    : newContext(browser));
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
  return { context, page, problems };
}

async function signIn(page: Page, role: 'admin' | 'member', start: string): Promise<LocalAccount> {
  const who = await account(role);
  await page.goto(start);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel(/Authentication code/).fill(await totpCode(who.secret!));
  await page.getByRole('button', { name: 'Verify' }).click();
  return who;
}

/** Desktop and phone screenshots of the page as it is. */
async function both(page: Page, step: string): Promise<void> {
  await shots.take(page, `${step}-desktop`);
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  await shots.take(page, `${step}-phone`);
  if (size) await page.setViewportSize(size);
}

test('the gateway’s pages are styled on an unknown host and on error paths', async () => {
  const { context, page, problems } = await tab();
  const cases: ReadonlyArray<[string, number, string]> = [
    [`http://nowhere.localhost:${stack.port}/some/page`, 421, 'Unknown site'],
    [`${stack.origin(HOSTS.staff)}/.auth/no-such-page`, 404, 'Not found'],
    [`${stack.origin(HOSTS.staff)}/a%2fb`, 400, ''],
  ];
  for (const [url, status, heading] of cases) {
    const res = await page.goto(url);
    assert.equal(res?.status(), status, url);
    if (heading) await page.getByRole('heading', { name: heading }).waitFor();
    const card = await page.evaluate<{ bg: string; radius: string; font: string }>(`(() => {
      const s = getComputedStyle(document.querySelector('section.card'));
      return { bg: s.backgroundColor, radius: s.borderTopLeftRadius, font: getComputedStyle(document.body).fontFamily };
    })()`);
    assert.deepEqual({ bg: card.bg, radius: card.radius }, { bg: 'rgb(255, 255, 255)', radius: '12px' }, `${url}: the stylesheet applies`);
    assert.match(card.font, /system-ui/, url);
    await both(page, `styled-${status}`);
  }
  assert.deepEqual(
    problems.filter((p) => /Content Security Policy|stylesheet|\.css/i.test(p)),
    [],
    'no refused stylesheet',
  );
  await context.close();
});

test('after sign-out, Back does not show the signed-in page', async () => {
  const { context, page } = await tab();
  const staff = stack.origin(HOSTS.staff);
  const privatePage = `${staff}${CACHEABLE_PREFIX}inbox`;
  const member = await signIn(page, 'member', privatePage);
  await page.waitForURL(privatePage);
  await page.getByText(member.email).first().waitFor();
  const signOut = page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.logout);
  await page.getByRole('link', { name: 'Sign out' }).click();
  assert.equal((await (await signOut).allHeaders())['clear-site-data'], '"cache", "storage"');
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  await page.goBack();
  await page.waitForLoadState('load');
  const body = (await page.locator('body').textContent()) ?? '';
  assert.ok(!body.includes(member.email), `Back shows the signed-in page again (${page.url()})`);
  await shots.take(page, 'back-after-sign-out');
  await context.close();
});

test('the client switcher: switches on choice, works without script, and the choice stays on every settings page', async () => {
  const { context, page } = await tab();
  const staff = stack.origin(HOSTS.staff);
  await signIn(page, 'admin', `${staff}${ADMIN_PATHS.sso}`);
  await page.waitForURL(`${staff}${ADMIN_PATHS.sso}`);
  const client = page.getByLabel('Client', { exact: true });
  assert.equal(await client.inputValue(), 'globex', 'the first client before any choice');
  // choosing is enough (the page script submits the switcher)
  await Promise.all([page.waitForURL(`${staff}${ADMIN_PATHS.portal('acme')}`), client.selectOption({ label: 'Acme Corp' })]);
  for (const path of [ADMIN_PATHS.sso, ADMIN_PATHS.audit]) {
    await page.goto(`${staff}${path}`);
    assert.equal(await page.getByLabel('Client', { exact: true }).inputValue(), 'acme', `${path} shows the chosen client`);
  }
  await both(page, 'audit-with-chosen-client');

  // without script: the Switch button is there and does the same
  const noJs = await tab({ javaScriptEnabled: false });
  await signIn(noJs.page, 'admin', `${staff}${ADMIN_PATHS.audit}`);
  await noJs.page.waitForURL(`${staff}${ADMIN_PATHS.audit}`);
  await noJs.page.getByLabel('Client', { exact: true }).selectOption({ label: 'Acme Corp' });
  assert.equal(pathOf(noJs.page), ADMIN_PATHS.audit, 'nothing happens on choice without script');
  await noJs.page.getByRole('button', { name: 'Switch' }).click();
  await noJs.page.waitForURL(`${staff}${ADMIN_PATHS.portal('acme')}`);
  await noJs.page.goto(`${staff}${ADMIN_PATHS.sso}`);
  assert.equal(await noJs.page.getByLabel('Client', { exact: true }).inputValue(), 'acme');
  await noJs.context.close();
  await context.close();
});

test('an abandoned Test Connection: the form keeps the saved values; the tested ones are a banner with Test and Discard', async () => {
  const { context, page } = await tab();
  const staff = stack.origin(HOSTS.staff);
  await signIn(page, 'admin', `${staff}${ADMIN_PATHS.sso}`);
  await page.waitForURL(`${staff}${ADMIN_PATHS.sso}`);
  // saved values first (SSO off: saving does not need a test)
  const savedClient = 'aaaaaaaa-0000-4000-8000-00000000abcd';
  await page.getByLabel(/^Tenant ID/).fill(DEMO.staffTenant);
  await page.getByLabel(/^Client ID/).fill(savedClient);
  await page.getByLabel(/^Client Secret/).fill('some-saved-secret');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/done=saved/);
  // Test Connection with the stand-in's app; the admin leaves the Microsoft page
  await page.getByLabel(/^Client ID/).fill(DEMO.staffApp.clientId);
  await page.getByLabel(/^Client Secret/).fill(DEMO.staffApp.clientSecret);
  await page.getByRole('button', { name: 'Test Connection' }).click();
  await page.waitForURL((u) => u.origin === stack.fe.url);
  await page.goto(`${staff}${ADMIN_PATHS.sso}`);
  assert.equal(await page.getByLabel(/^Client ID/).inputValue(), savedClient, 'the form shows the saved client ID');
  const banner = page.getByRole('region', { name: /Untested changes from \d\d:\d\d UTC/ });
  await banner.waitFor();
  assert.match((await banner.textContent()) ?? '', new RegExp(DEMO.staffApp.clientId));
  assert.ok(!(await page.content()).includes(DEMO.staffApp.clientSecret), 'the secret is never shown');
  await both(page, 'sso-untested-banner');
  // Test from the banner: the stand-in's sign-in page again, for the tested app
  const authorize = page.waitForRequest((r) => r.url().startsWith(stack.fe.url) && new URL(r.url()).searchParams.get('client_id') === DEMO.staffApp.clientId);
  await banner.getByRole('button', { name: 'Test' }).click();
  await authorize;
  await page.waitForURL((u) => u.origin === stack.fe.url);
  await page.goto(`${staff}${ADMIN_PATHS.sso}`);
  await page
    .getByRole('region', { name: /Untested changes from/ })
    .getByRole('button', { name: 'Discard' })
    .click();
  await page.waitForURL(/done=discarded/);
  assert.equal(await page.getByRole('region', { name: /Untested changes from/ }).count(), 0);
  assert.equal(await page.getByLabel(/^Client ID/).inputValue(), savedClient);
  await context.close();
});

test('the staff sample app links a staff admin to the settings, and not a member', async () => {
  const { context, page } = await tab();
  const staff = stack.origin(HOSTS.staff);
  await signIn(page, 'admin', `${staff}/`);
  await page.waitForURL(`${staff}/`);
  const link = page.getByRole('banner').getByRole('link', { name: 'Settings' });
  assert.equal(await link.getAttribute('href'), ADMIN_PATHS.home);
  await both(page, 'staff-app-admin');
  await link.click();
  await page.waitForURL(`${staff}${ADMIN_PATHS.sso}`);
  await context.close();

  const m = await tab();
  await signIn(m.page, 'member', `${staff}/`);
  await m.page.waitForURL(`${staff}/`);
  assert.equal(await m.page.getByRole('link', { name: 'Settings' }).count(), 0);
  await m.context.close();
});

test('the keyboard focus indicator has at least 3:1 contrast on every focusable element', async () => {
  const { context, page } = await tab();
  const staff = stack.origin(HOSTS.staff);
  const check = async (where: string) => {
    const rings = await focusRings(page);
    assert.ok(rings.length >= 3, `${where}: focus moves through the page (${rings.length} stops)`);
    for (const r of rings) {
      assert.equal(r.style, 'solid', `${where}: ${r.element} shows a focus outline`);
      assert.ok(r.width >= 2, `${where}: ${r.element} outline ${r.width}px`);
      const ratio = contrastRatio(r.color, r.behind);
      assert.ok(ratio >= 3, `${where}: ${r.element} outline ${r.color} on ${r.behind} is ${ratio.toFixed(2)}:1`);
    }
  };
  await page.goto(`${staff}${ADMIN_PATHS.sso}`);
  await page.getByLabel('Email').waitFor();
  await check('sign-in');
  await signIn(page, 'admin', `${staff}${ADMIN_PATHS.sso}`);
  for (const path of [ADMIN_PATHS.sso, ADMIN_PATHS.portal('acme'), ADMIN_PATHS.audit, ADMIN_PATHS.people('staff'), PATHS.account]) {
    await page.goto(`${staff}${path}`);
    await check(path);
  }
  await both(page, 'account-focus');
  await context.close();
});

test('the forms’ error states pass axe-core (WCAG 2.2 A/AA)', async () => {
  const { context, page } = await tab();
  const staff = stack.origin(HOSTS.staff);
  // a refused sign-in
  const who = await account('member');
  await page.goto(`${staff}${PATHS.login}`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill('not-the-password-at-all');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').waitFor();
  await assertAccessible(page, 'sign-in refused');
  // a wrong code at the TOTP step
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel(/Authentication code/).fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').waitFor();
  await assertAccessible(page, 'TOTP code refused');
  await context.close();

  const admin = await tab();
  await signIn(admin.page, 'admin', `${staff}${ADMIN_PATHS.addAccount('staff')}`);
  // an email that already has an account
  await admin.page.getByLabel('Email').fill(who.email);
  await admin.page.getByLabel('Name').fill('Sam Again');
  await admin.page.getByRole('button', { name: 'Add and make a set-up link' }).click();
  await admin.page.locator('[aria-invalid=true]').first().waitFor();
  await both(admin.page, 'people-add-field-errors');
  await admin.page.goto(`${staff}${ADMIN_PATHS.sso}`);
  await admin.page.getByLabel(/^Tenant ID/).fill('not-a-tenant');
  await admin.page.getByRole('button', { name: 'Save', exact: true }).click();
  await admin.page.locator('[aria-invalid=true]').first().waitFor();
  await both(admin.page, 'sso-field-errors');
  await admin.context.close();
});
