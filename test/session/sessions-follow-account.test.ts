// Sessions follow their account and their realm's sign-in settings, on every replica,
// within session.revocationCheckSeconds (issue #12 §2): two gateways share one store,
// people sign in for real (password + TOTP, or Microsoft through the Entra stand-in),
// and the changes are made as an operator makes them (the CLI's functions, the
// settings pages). Each change is made on replica A's side only: replica B learns of it
// from the store alone.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { HOSTS, PORTAL_APP, startEnv, TENANTS, USERS, type Env } from '../auth/entra/support.ts';
import { startGateway, type TestGateway } from '../support/gateway.ts';
import { Browser as AdminBrowser, PATH, staffAdmin } from '../admin/helpers.ts';
import { Client, createEnrolledUser, manualClock, signIn } from '../auth/password/flow.ts';
import { linkIdentity, resetMfa, setPassword, setRole, setStatus, unlinkIdentity } from '../../src/auth/password/users.ts';
import { runSsoCommand } from '../../src/cli/sso.ts';
import { putSignInSettings, STAFF_SSO_KEY, type StaffSsoSettings } from '../../src/auth/policy.ts';
import { sealStaffSecret } from '../../src/auth/entra/index.ts';
import type { Io } from '../../src/main.ts';
import type { User } from '../../src/store/types.ts';

interface Replicas {
  readonly env: Env;
  readonly a: TestGateway;
  readonly b: TestGateway;
  readonly clock: ReturnType<typeof manualClock>;
  /** move both replicas' clock past the revocation bound */
  pastBound(): void;
}

/** Replica A (with the Entra stand-in) and replica B on the same store and keys, one clock. */
async function replicas(t: TestContext): Promise<Replicas> {
  const clock = manualClock(Date.now());
  const env = await startEnv({ now: clock.now, staff: { autoProvision: true } });
  t.after(() => env.close());
  const b = await startGateway({
    now: clock.now,
    store: env.gw.store,
    configure(raw) {
      const sites = raw.sites as { portal: Record<string, unknown> };
      sites.portal.entra = { clientId: PORTAL_APP.clientId, clientSecret: PORTAL_APP.clientSecret };
      return { ...raw, keys: env.gw.config.keys, entra: { authorityHost: env.fe.url, graphUrl: env.fe.graphUrl, allowInsecure: true } };
    },
  });
  t.after(() => b.close());
  const a = env.gw;
  return { env, a, b, clock, pastBound: () => clock.advance(a.config.session.revocationCheckSeconds * 1000 + 1) };
}

interface Seen {
  readonly status: number;
  readonly role: unknown;
  readonly jwtRole: unknown;
  readonly amr: unknown;
  readonly setCookie: string;
}

/** GET /work with exactly this Cookie header on `gw`: what the upstream received. */
async function visit(gw: TestGateway, host: string, cookie: string): Promise<Seen> {
  const res = await gw.request(host, '/work', { cookie, headers: { accept: 'text/html' } });
  const body = await res.body.text();
  const setCookie = String(res.headers['set-cookie'] ?? '');
  if (res.statusCode !== 200) return { status: res.statusCode, role: null, jwtRole: null, amr: null, setCookie };
  const echo = JSON.parse(body) as { headers: Record<string, string> };
  const jwt = decodeJwt(echo.headers['x-regentra-identity'] as string);
  return { status: 200, role: echo.headers['x-regentra-role'], jwtRole: jwt.role, amr: jwt.amr, setCookie };
}

/** A password + TOTP sign-in on replica A; returns the session's Cookie header. */
async function passwordSession(r: Replicas, host: string, role: 'admin' | 'member' = 'member'): Promise<{ user: User; cookie: string }> {
  const { user, secret } = await createEnrolledUser(r.a, host, { role: host === HOSTS.staff ? role : 'member' });
  const client = new Client(r.a, host);
  assert.equal((await signIn(client, user.email, secret, r.clock.t)).status, 303);
  return { user, cookie: client.cookie };
}

/** A Microsoft sign-in (Entra stand-in) on replica A; returns the session's Cookie header. */
async function ssoSession(r: Replicas, host: string, oid: string): Promise<string> {
  const browser = r.env.browser();
  const pages = await browser.signIn(host, oid, '/');
  assert.equal(pages.at(-1)?.status, 200, `signed in with Microsoft on ${host}`);
  return browser.cookieHeader(host) as string;
}

/** The status of `cookie` on both replicas. */
async function statusOnBoth(r: Replicas, host: string, cookie: string): Promise<[number, number]> {
  return [(await visit(r.a, host, cookie)).status, (await visit(r.b, host, cookie)).status];
}

const sessionCookieIn = (setCookie: string, r: Replicas) => setCookie.includes(`${r.a.cookieName}=`) && !/max-age=0/i.test(setCookie);

test('a role change reaches every session on both replicas: the next request carries the new role (header and JWT) and the cookie is re-sealed', async (t) => {
  const r = await replicas(t);
  const { user, cookie } = await passwordSession(r, HOSTS.staff, 'admin');
  // another admin who can reach the settings, so the demotion is allowed (the last admin never is)
  await createEnrolledUser(r.a, HOSTS.staff, { role: 'admin' });
  for (const gw of [r.a, r.b]) {
    const seen = await visit(gw, HOSTS.staff, cookie);
    assert.deepEqual([seen.status, seen.role, seen.jwtRole], [200, 'admin', 'admin']);
  }

  // `users set-role staff <email> member`, from another process: nothing tells the replicas but the store
  await setRole(r.a.store, user, 'member', { actor: 'cli', now: r.clock.now });
  r.pastBound();
  for (const gw of [r.a, r.b]) {
    const seen = await visit(gw, HOSTS.staff, cookie);
    assert.deepEqual([seen.status, seen.role, seen.jwtRole], [200, 'member', 'member'], 'the old cookie now carries the new role');
    assert.ok(sessionCookieIn(seen.setCookie, r), 'the session cookie is re-sealed with the new role');
    const resealed = `${r.a.cookieName}=${/=([^;]+)/.exec(seen.setCookie)?.[1]}`;
    const again = await visit(gw, HOSTS.staff, resealed);
    assert.deepEqual([again.status, again.role, again.jwtRole], [200, 'member', 'member']);
    // and the settings pages, which only admins may open, are refused
    const admin = await gw.request(HOSTS.staff, PATH.sso, { cookie, headers: { accept: 'text/html' } });
    assert.equal(admin.statusCode, 403);
    await admin.body.dump();
  }

  // promoted back: admin again everywhere
  await setRole(r.a.store, { ...user, role: 'member' }, 'admin', { actor: 'cli', now: r.clock.now });
  r.pastBound();
  for (const gw of [r.a, r.b])
    assert.deepEqual([(await visit(gw, HOSTS.staff, cookie)).role, (await visit(gw, HOSTS.staff, cookie)).jwtRole], ['admin', 'admin']);
});

test('disable, then enable: a cookie copied before the disable stays dead on both replicas', async (t) => {
  const r = await replicas(t);
  const { user, cookie } = await passwordSession(r, HOSTS.acme);
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, cookie), [200, 200]);
  const disabled = await setStatus(r.a.store, user, 'disabled', { actor: 'cli', now: r.clock.now });
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, cookie), [302, 302]);
  r.clock.advance(1_000);
  await setStatus(r.a.store, disabled, 'active', { actor: 'cli', now: r.clock.now });
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, cookie), [302, 302], 'enabling the account does not bring old cookies back');
});

test('password reset, MFA reset, link and unlink end the sessions on both replicas', async (t) => {
  const r = await replicas(t);
  const changes: Array<[string, (u: User) => Promise<unknown>]> = [
    ['password reset', (u) => setPassword(r.a.store, u, 'a brand new long passphrase 93', { actor: 'cli', now: r.clock.now, minLength: 12 })],
    ['MFA reset', (u) => resetMfa(r.a.store, u, { actor: 'cli', now: r.clock.now })],
    ['link', (u) => linkIdentity(r.a.store, u, { tid: TENANTS.staff, oid: USERS.ken.oid }, { actor: 'cli', now: r.clock.now })],
    [
      'unlink',
      async (u) =>
        unlinkIdentity(
          r.a.store,
          await linkIdentity(r.a.store, u, { tid: TENANTS.staff, oid: USERS.grace.oid }, { actor: 'cli', now: () => r.clock.t - 10_000 }),
          { actor: 'cli', now: r.clock.now },
        ),
    ],
  ];
  for (const [what, change] of changes) {
    r.clock.advance(60_000);
    const { user, cookie } = await passwordSession(r, HOSTS.staff);
    assert.deepEqual(await statusOnBoth(r, HOSTS.staff, cookie), [200, 200], what);
    r.clock.advance(1_000);
    await change(user);
    r.pastBound();
    assert.deepEqual(await statusOnBoth(r, HOSTS.staff, cookie), [302, 302], `${what} ends the session`);
  }
});

test('staff SSO-only on: password sessions end on both replicas, SSO sessions stay; turning it off again does not revive them', async (t) => {
  const r = await replicas(t);
  const { cookie: pwd } = await passwordSession(r, HOSTS.staff);
  const sso = await ssoSession(r, HOSTS.staff, USERS.ada.oid);
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, pwd), [200, 200]);
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, sso), [200, 200]);

  // an admin signed in with Microsoft turns SSO-only on (the settings page on replica A)
  const admin = new AdminBrowser(r.a, HOSTS.staff, (await staffAdmin(r.a, { amr: ['sso'], idp: { tid: TENANTS.staff, oid: USERS.ken.oid } })).cookie);
  assert.equal((await admin.submit(PATH.sso, { action: 'sso-only-on' })).status, 303);
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, pwd), [302, 302], 'the password session is over');
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, sso), [200, 200], 'the SSO session goes on');
  const ssoSeen = await visit(r.b, HOSTS.staff, sso);
  assert.deepEqual(ssoSeen.amr, ['sso']);

  // break glass from the CLI: password sign-in is allowed again, but that session stays ended
  const sink = new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
  const io: Io = { stdout: sink, stderr: sink, stdin: process.stdin };
  assert.equal(await runSsoCommand(['disable-sso-only'], { config: r.a.config, store: r.a.store, io }), 0);
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, pwd), [302, 302]);
  const { cookie: fresh } = await passwordSession(r, HOSTS.staff);
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, fresh), [200, 200], 'a new password sign-in works');
});

test('portal password sign-in turned off: the client’s password sessions end on both replicas, SSO sessions stay; on again does not revive them', async (t) => {
  const r = await replicas(t);
  const { cookie: pwd } = await passwordSession(r, HOSTS.acme);
  const sso = await ssoSession(r, HOSTS.acme, USERS.alice.oid);
  const { cookie: globex } = await passwordSession(r, HOSTS.globex);
  const admin = new AdminBrowser(r.a, HOSTS.staff, (await staffAdmin(r.a)).cookie);
  const save = (fields: Record<string, string>) =>
    admin.submit(PATH.portal('acme'), { action: 'save', mfa: 'default', tenantId: TENANTS.acme, ssoEnabled: 'on', ...fields });

  assert.equal((await save({})).status, 303, 'password sign-in off');
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, pwd), [302, 302]);
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, sso), [200, 200]);
  assert.deepEqual(await statusOnBoth(r, HOSTS.globex, globex), [200, 200], 'another client is untouched');

  assert.equal((await save({ passwordAllowed: 'on' })).status, 303, 'password sign-in on again');
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, pwd), [302, 302]);
});

test('SSO turned off (staff) or the tenant changed (portal): SSO sessions end on both replicas, password sessions stay', async (t) => {
  const r = await replicas(t);
  const { cookie: staffPwd } = await passwordSession(r, HOSTS.staff);
  const staffSso = await ssoSession(r, HOSTS.staff, USERS.ada.oid);
  const { cookie: acmePwd } = await passwordSession(r, HOSTS.acme);
  const acmeSso = await ssoSession(r, HOSTS.acme, USERS.alice.oid);
  for (const [host, cookie] of [
    [HOSTS.staff, staffSso],
    [HOSTS.acme, acmeSso],
  ] as const)
    assert.deepEqual(await statusOnBoth(r, host, cookie), [200, 200]);

  const admin = new AdminBrowser(r.a, HOSTS.staff, (await staffAdmin(r.a)).cookie);
  assert.equal((await admin.submit(PATH.sso, { action: 'disable' })).status, 303);
  assert.equal(
    (await admin.submit(PATH.portal('acme'), { action: 'save', mfa: 'default', tenantId: TENANTS.globex, ssoEnabled: 'on', passwordAllowed: 'on' })).status,
    303,
  );
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, staffSso), [302, 302], 'staff SSO off');
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, acmeSso), [302, 302], 'Acme now signs in through another tenant');
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, staffPwd), [200, 200]);
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, acmePwd), [200, 200]);

  // the tenant back as it was: the session that ended stays ended
  assert.equal(
    (await admin.submit(PATH.portal('acme'), { action: 'save', mfa: 'default', tenantId: TENANTS.acme, ssoEnabled: 'on', passwordAllowed: 'on' })).status,
    303,
  );
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.acme, acmeSso), [302, 302]);
});

test('a new staff SSO application (client id) ends SSO sessions on both replicas; a new client secret does not', async (t) => {
  const r = await replicas(t);
  const sso = await ssoSession(r, HOSTS.staff, USERS.ada.oid);
  const { cookie: pwd } = await passwordSession(r, HOSTS.staff);
  // what the settings page writes once new values passed Test Connection (src/admin/sso.ts → saveSetting)
  const write = async (patch: Partial<StaffSsoSettings>) => {
    const s = await r.a.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY);
    await putSignInSettings(r.a.store, r.a.config, STAFF_SSO_KEY, { ...(s?.value as StaffSsoSettings), ...patch }, s?.version ?? 0, r.clock.t);
  };
  r.clock.advance(1_000);
  await write({ clientSecretEnc: sealStaffSecret(r.a.core, 'a rotated secret value'), secretSetAt: r.clock.t });
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, sso), [200, 200], 'a rotated secret keeps sessions');
  await write({ clientId: '7c7c7c7c-aaaa-4bbb-8ccc-000000000003' });
  r.pastBound();
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, sso), [302, 302], 'another application: SSO sessions end');
  assert.deepEqual(await statusOnBoth(r, HOSTS.staff, pwd), [200, 200]);
});
