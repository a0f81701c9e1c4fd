// /.auth/account over HTTP: change password (current password + code), a new authenticator,
// new recovery codes (and how many are left), the session registry and "sign out the others";
// SSO-only accounts see only what applies; no session, other hosts and missing CSRF refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import {
  Client,
  codeAt,
  createEnrolledUser,
  csrfOf,
  manualClock,
  PASSWORD,
  recoveryCodesOf,
  secretOf,
  signIn,
  submitPassword,
  type Page,
} from '../auth/password/flow.ts';
import { verifyPassword } from '../../src/auth/password/hash.ts';
import { openTotpSecret } from '../../src/auth/totp/enrolment.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY } from '../../src/auth/policy.ts';

const ACCOUNT = '/.auth/account';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';

const clock = manualClock();
let gw: TestGateway;

before(async () => {
  gw = await startGateway({ now: clock.now });
});
after(() => gw.close());

/** a client that says which browser it is */
function browser(host: string, ua: string): Client {
  const c = new Client(gw, host);
  const send = c.send.bind(c);
  c.send = (method, path, form, headers = {}) => send(method, path, form, { 'user-agent': ua, ...(form ? { origin: `http://${host}` } : {}), ...headers });
  return c;
}

async function post(c: Client, path: string, fields: Record<string, string>): Promise<Page> {
  const page = await c.get(ACCOUNT);
  assert.equal(page.status, 200);
  return c.post(path, { csrf: csrfOf(page.body), ...fields });
}

async function me(c: Client): Promise<number> {
  return (await c.get('/.auth/me', { accept: 'application/json' })).status;
}

function step(): void {
  clock.advance(30_000);
}

test('lists the sessions (device, address, last seen) and signs out the others', async () => {
  const { user, secret } = await createEnrolledUser(gw, HOSTS.acme, { email: 'sessions@acme.test' });
  const laptop = browser(HOSTS.acme, FIREFOX);
  const phone = browser(HOSTS.acme, ANDROID);
  assert.equal((await signIn(laptop, user.email, secret, clock.t)).status, 303);
  step();
  assert.equal((await signIn(phone, user.email, secret, clock.t)).status, 303);
  const page = await laptop.get(ACCOUNT);
  assert.equal(page.status, 200);
  assert.match(page.body, /Firefox on Windows<br><span class="this-device">This device/);
  assert.match(page.body, /Chrome on Android/);
  assert.match(page.body, /127\.0\.0\.1/);
  assert.match(page.body, /Sign out the other 1 session</);
  assert.equal((await gw.store.listSessions('portal:acme', user.id, clock.t)).length, 2);

  const done = await post(laptop, `${ACCOUNT}/sessions`, { action: 'sign-out-others' });
  assert.equal(done.status, 303);
  assert.equal(await me(phone), 401, 'the other session ended');
  assert.equal(await me(laptop), 200, 'this one stays');
  assert.equal((await gw.store.listSessions('portal:acme', user.id, clock.t)).length, 1);
  assert.match((await laptop.get(ACCOUNT)).body, /No other sessions/);
  const [event] = await gw.store.listAudit({ type: 'signout.others', person: user.id, limit: 1 });
  assert.equal(event?.details.count, 1);
});

test('changing the password needs the current password and a code; this session stays, the others end', async () => {
  step();
  const { user, secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'pw@regentra.test', role: 'member' });
  const here = browser(HOSTS.staff, FIREFOX);
  const there = browser(HOSTS.staff, ANDROID);
  assert.equal((await signIn(here, user.email, secret, clock.t)).status, 303);
  step();
  assert.equal((await signIn(there, user.email, secret, clock.t)).status, 303);
  step();
  const NEW = 'tangerine-harbour-forty-owls';
  const wrong = await post(here, `${ACCOUNT}/password`, { current: 'not my password', code: await codeAt(secret, clock.t), password: NEW, confirm: NEW });
  assert.equal(wrong.status, 401);
  assert.match(wrong.body, /current password is not correct/);
  assert.equal((await gw.store.getUser('staff', user.id))!.failedCount, 1, 'counted towards the lockout');
  const badCode = await post(here, `${ACCOUNT}/password`, { current: PASSWORD, code: '000000', password: NEW, confirm: NEW });
  assert.equal(badCode.status, 401);
  const weak = await post(here, `${ACCOUNT}/password`, { current: PASSWORD, code: await codeAt(secret, clock.t), password: 'short', confirm: 'short' });
  assert.equal(weak.status, 400);
  step();
  const ok = await post(here, `${ACCOUNT}/password`, { current: PASSWORD, code: await codeAt(secret, clock.t), password: NEW, confirm: NEW });
  assert.equal(ok.status, 303);
  assert.equal(ok.location, `${ACCOUNT}?done=password`);
  const stored = (await gw.store.getUser('staff', user.id))!;
  assert.ok(await verifyPassword(NEW, stored.passwordHash));
  assert.ok(!(await verifyPassword(PASSWORD, stored.passwordHash)), 'the old password stops working');
  clock.advance(1);
  assert.equal(await me(here), 200, 'this browser got a fresh session');
  assert.equal(await me(there), 401, 'the other session ended');
  assert.equal((await submitPassword(browser(HOSTS.staff, FIREFOX), user.email, PASSWORD)).status, 401);
});

test('recovery codes: how many are left after one is used; new ones need a code and are shown once', async () => {
  step();
  const { user, secret, recoveryCodes } = await createEnrolledUser(gw, HOSTS.staff, { email: 'rc@regentra.test', role: 'member' });
  const c = browser(HOSTS.staff, FIREFOX);
  assert.equal((await submitPassword(c, user.email, PASSWORD)).status, 303);
  const page = await c.get('/.auth/login/recovery');
  assert.equal((await c.post('/.auth/login/recovery', { csrf: csrfOf(page.body), code: recoveryCodes[0]! })).status, 303);
  assert.match((await c.get(ACCOUNT)).body, /<strong id="recovery-left">9 of 10<\/strong>/);
  step();
  const fresh = await post(c, `${ACCOUNT}/recovery-codes`, { code: await codeAt(secret, clock.t) });
  assert.equal(fresh.status, 200);
  const codes = recoveryCodesOf(fresh.body);
  assert.equal(codes.length, 10);
  assert.ok(!codes.includes(recoveryCodes[1]!));
  assert.match((await c.get(ACCOUNT)).body, /10 of 10/);
  // the same code again: refused (each code once)
  assert.equal((await post(c, `${ACCOUNT}/recovery-codes`, { code: await codeAt(secret, clock.t) })).status, 401);
});

test('a new authenticator: a code from the current app, then one from the new app; the old one stops working', async () => {
  step();
  const { user, secret } = await createEnrolledUser(gw, HOSTS.acme, { email: 'newphone@acme.test' });
  const c = browser(HOSTS.acme, ANDROID);
  assert.equal((await signIn(c, user.email, secret, clock.t)).status, 303);
  step();
  const started = await post(c, `${ACCOUNT}/authenticator`, { code: await codeAt(secret, clock.t) });
  assert.equal(started.status, 200);
  const next = secretOf(started.body);
  assert.notEqual(next, secret);
  const wrong = await c.post(`${ACCOUNT}/authenticator/confirm`, { csrf: csrfOf(started.body), code: await codeAt(secret, clock.t, 1) });
  assert.equal(wrong.status, 401, 'a code from the old app does not confirm the new one');
  const done = await c.post(`${ACCOUNT}/authenticator/confirm`, { csrf: csrfOf(wrong.body), code: await codeAt(next, clock.t) });
  assert.equal(done.status, 200);
  assert.equal(recoveryCodesOf(done.body).length, 10);
  const stored = (await gw.store.getUser('portal:acme', user.id))!;
  assert.equal(openTotpSecret(gw.core.secretBox, stored), next);
  clock.advance(1);
  assert.equal(await me(c), 200, 'still signed in here');
  const types = (await gw.store.listAudit({ person: user.id, limit: 20 })).map((e) => e.type);
  assert.ok(types.includes('mfa.replace'));
});

test('an SSO-only account sees its sessions only; no session and a missing CSRF token are refused', async () => {
  const tid = '11111111-1111-4111-8111-111111111111';
  const idp = { tid, oid: 'cccccccc-1111-4111-8111-111111111111' };
  // an SSO session is a session only while staff SSO is on for its tenant
  await gw.store.putSetting(STAFF_SSO_KEY, {
    ...DEFAULT_STAFF_SSO,
    tenantId: tid,
    clientId: '22222222-2222-4222-8222-222222222222',
    clientSecretEnc: 'sealed',
    enabled: true,
  });
  gw.core.policy.invalidate();
  const sso = await gw.store.createUser({
    realm: 'staff',
    email: 'sso-only@regentra.test',
    displayName: 'Sso Only',
    role: 'member',
    externalTid: idp.tid,
    externalOid: idp.oid,
  });
  const cookie = await gw.sessionCookie(HOSTS.staff, {
    uid: sso.id,
    email: sso.email,
    role: 'member',
    amr: ['sso'],
    idp,
    iat: clock.t,
    seen: clock.t,
    authTime: Math.floor(clock.t / 1000),
  });
  const c = browser(HOSTS.staff, FIREFOX);
  c.cookies.set(cookie.split('=')[0]!, cookie.slice(cookie.indexOf('=') + 1));
  // a second session of theirs, elsewhere
  const other = await gw.sessionCookie(HOSTS.staff, {
    uid: sso.id,
    email: sso.email,
    role: 'member',
    amr: ['sso'],
    idp,
    iat: clock.t,
    seen: clock.t,
    authTime: Math.floor(clock.t / 1000),
  });
  assert.equal((await gw.request(HOSTS.staff, ACCOUNT, { cookie: other, headers: { 'user-agent': ANDROID } })).statusCode, 200);
  const page = await c.get(ACCOUNT);
  assert.equal(page.status, 200);
  assert.match(page.body, /You sign in with your Microsoft work account/);
  assert.doesNotMatch(page.body, /Change password|Recovery codes/);
  assert.match(page.body, /This device/);
  assert.match(page.body, /Chrome on Android/);
  assert.equal((await post(c, `${ACCOUNT}/password`, { current: 'x', password: 'y', confirm: 'y' })).status, 409);
  assert.equal((await c.post(`${ACCOUNT}/sessions`, { action: 'sign-out-others' })).status, 403, 'no CSRF token');

  const anon = new Client(gw, HOSTS.staff);
  const redirect = await anon.get(ACCOUNT);
  assert.equal(redirect.status, 303);
  assert.equal(redirect.location, '/.auth/login?rd=%2F.auth%2Faccount');
  assert.equal((await anon.get(ACCOUNT, { accept: 'application/json' })).status, 401);
});
