/**
 * The store goes away and comes back, without restarting the gateway:
 *
 * - SQLite: the database handle is closed under the running gateway (every call then
 *   fails UNAVAILABLE, as when the file cannot be written; chmod does not stop root,
 *   which runs these tests), then the same file is opened again;
 * - PostgreSQL: the gateway reaches the database through a TCP proxy that is stopped
 *   (every connection dropped, new ones refused) and started again.
 *
 * As documented (docs/operations.md, "Failure behaviour"): sign-ins fail with the clear
 * 503 "Sign-in unavailable" page, never a 500 and never a session; people signed in keep
 * working; a change that cannot be written is not acknowledged; and nothing that was
 * acknowledged before the outage is lost (failure counts, settings, sign-out
 * revocations, audit rows) — then sign-in works again by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { STORE_OPERATIONS } from '../../src/ops/instrumented-store.ts';
import { StoreError, type Store } from '../../src/store/types.ts';
import { portalAuthKey } from '../../src/auth/policy.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import { Client, codeAt, createEnrolledUser, csrfOf, PASSWORD, signIn, submitPassword } from '../auth/password/flow.ts';
import { databaseProxy, dropSchemas, testSchema } from '../ops/replicas.ts';

after(dropSchemas);

/** the gateways' clock: real time, moved on by `skew` where the story needs time to pass (no fixed sleeps) */
let skew = 0;
const clock = (): number => Date.now() + skew;

/** A Store whose every call goes to whatever store is current (the gateway keeps one object). */
function switchable(first: Store): { store: Store; set(next: Store): void } {
  let current = first;
  const store = { kind: first.kind } as Record<string, unknown>;
  for (const op of STORE_OPERATIONS) store[op] = (...args: unknown[]) => (current[op] as (...a: unknown[]) => Promise<unknown>)(...args);
  return { store: store as unknown as Store, set: (next) => void (current = next) };
}

interface Outage {
  readonly gw: TestGateway;
  down(): Promise<void>;
  up(): Promise<void>;
}

/** the same story for either store */
async function story(o: Outage): Promise<void> {
  const { gw } = o;
  // before: acknowledged writes of every kind
  const alice = await createEnrolledUser(gw, HOSTS.staff, { email: 'alice@example.com' });
  const bob = await createEnrolledUser(gw, HOSTS.staff, { email: 'bob@example.com' });
  const aliceBrowser = new Client(gw, HOSTS.staff);
  assert.equal((await signIn(aliceBrowser, alice.user.email, alice.secret, Date.now(), '/app')).status, 303);
  assert.equal((await aliceBrowser.get('/app')).status, 200);
  const carol = await createEnrolledUser(gw, HOSTS.staff, { email: 'carol@example.com' });
  for (let i = 0; i < 2; i++)
    assert.equal((await submitPassword(new Client(gw, HOSTS.staff), carol.user.email, 'not the password')).status, 401, 'a failure, counted');
  await gw.store.putSetting(portalAuthKey('globex'), { mfaRequired: false });
  const leaving = new Client(gw, HOSTS.staff);
  assert.equal((await signIn(leaving, bob.user.email, bob.secret, Date.now())).status, 303);
  const copied = leaving.cookie;
  const out = await leaving.send('GET', '/.auth/logout', undefined, { 'sec-fetch-site': 'same-origin' });
  assert.equal(out.status, 303, 'signed out');
  const auditBefore = (await gw.store.listAudit({ limit: 1000 })).length;
  // a browser half-way through signing in when the store goes away
  const halfway = new Client(gw, HOSTS.staff);
  const page = await halfway.get('/.auth/login');
  const neverSeen = await gw.sessionCookie(HOSTS.staff, { email: 'unseen@example.com' });
  // an admin with a settings form open
  const admin = new Client(gw, HOSTS.staff);
  admin.cookies.set(gw.cookieName, aliceBrowser.cookies.get(gw.cookieName)!);
  const form = await admin.get('/.auth/admin/portal/acme/authentication');
  assert.equal(form.status, 200);
  const version = /name="version" value="(\d+)"/.exec(form.body)?.[1] as string;

  await o.down();
  // past the revocation bound (the gateway's clock moves on): the checks now fail and fall back to the last known state
  skew += 1_100;
  try {
    gw.core.policy.invalidate();
    // sign-in: the clear 503 page at every step, no session, no redirect
    const login = await new Client(gw, HOSTS.staff).get('/.auth/login');
    assert.equal(login.status, 503, `sign-in page: ${login.status}`);
    assert.match(login.body, /Sign-in unavailable/);
    const post = await halfway.post('/.auth/login', { csrf: csrfOf(page.body), email: bob.user.email, password: PASSWORD });
    assert.equal(post.status, 503, `password step: ${post.status}`);
    assert.match(post.body, /People already signed in are not affected/);
    assert.equal(post.location, null);
    assert.ok(!halfway.cookies.has(gw.cookieName), 'no session');
    assert.equal(post.headers['retry-after'], '5');

    // signed in: still working (the revocation check falls back to what this replica last knew)
    for (let i = 0; i < 3; i++) assert.equal((await aliceBrowser.get(`/app/${i}`)).status, 200, 'a signed-in user keeps working');
    const unseen = await gw.request(HOSTS.staff, '/reports', { cookie: neverSeen });
    await unseen.body.dump();
    assert.equal(unseen.statusCode, 200, 'a session this replica never checked keeps working (documented)');
    const revoked = await gw.request(HOSTS.staff, '/.auth/me', { cookie: copied });
    await revoked.body.dump();
    assert.equal(revoked.statusCode, 401, 'a session signed out before the outage stays ended');

    // a change that cannot be written is not acknowledged
    const save = await admin.send(
      'POST',
      '/.auth/admin/portal/acme/authentication',
      { csrf: csrfOf(form.body), version, action: 'save', mfa: 'optional' },
      { origin: `http://${HOSTS.staff}` },
    );
    assert.ok(save.status >= 500, `an admin change during the outage answered ${save.status}`);
    assert.equal(save.location, null, 'not acknowledged');
    assert.doesNotMatch(save.body, /Saved/);
  } finally {
    await o.up();
  }

  // after: everything acknowledged is there, nothing from the outage is, and sign-in works again
  gw.core.policy.invalidate();
  assert.equal((await gw.store.getUser('staff', carol.user.id))?.failedCount, 2, 'the failure count');
  assert.equal((await gw.store.getSetting<{ mfaRequired: boolean }>(portalAuthKey('globex')))?.value.mfaRequired, false, 'the setting');
  assert.equal(await gw.store.getSetting(portalAuthKey('acme')), null, 'the refused change');
  assert.ok((await gw.store.listAudit({ limit: 1000 })).length >= auditBefore, 'the audit rows');
  const stillRevoked = await gw.request(HOSTS.staff, '/.auth/me', { cookie: copied });
  await stillRevoked.body.dump();
  assert.equal(stillRevoked.statusCode, 401, 'the sign-out revocation');
  const again = new Client(gw, HOSTS.staff);
  const pwd = await submitPassword(again, bob.user.email, PASSWORD);
  assert.equal(pwd.status, 303, `sign-in after recovery: ${pwd.status}`);
  const done = await again.post('/.auth/login/totp', {
    csrf: csrfOf((await again.get('/.auth/login/totp')).body),
    code: await codeAt(bob.secret, Date.now(), 1),
  });
  assert.equal(done.status, 303, 'signed in again without a restart');
  assert.equal((await aliceBrowser.get('/app/after')).status, 200);
}

describe('the store goes away and comes back', () => {
  test('SQLite: the database handle closed under the running gateway, then the file opened again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regentra-store-outage-'));
    const path = join(dir, 'regentra.db');
    const first = await openStore({ driver: 'sqlite', path });
    const sw = switchable(first);
    const gw = await startGateway({ store: sw.store, now: clock, configure: (raw) => ({ ...raw, session: { secure: false, revocationCheckSeconds: 1 } }) });
    let current = first;
    try {
      await story({
        gw,
        down: async () => {
          await current.close();
          // what the gateway now meets on every call
          await assert.rejects(sw.store.getUser('staff', 'x'), (err: unknown) => err instanceof StoreError && err.code === 'UNAVAILABLE');
        },
        up: async () => {
          current = await openStore({ driver: 'sqlite', path });
          sw.set(current);
        },
      });
    } finally {
      await gw.close();
      await current.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: the database stopped (a TCP proxy in front of it) and started again', async () => {
    const proxy = await databaseProxy();
    const store = await openStore({
      driver: 'postgres',
      url: proxy.url,
      schema: testSchema('store_outage'),
      pool: { max: 4, connectionTimeoutMillis: 500, statementTimeoutMillis: 2_000 },
    });
    const gw = await startGateway({ store, now: clock, configure: (raw) => ({ ...raw, session: { secure: false, revocationCheckSeconds: 1 } }) });
    try {
      await story({
        gw,
        down: () => proxy.stop(),
        up: () => proxy.start(),
      });
    } finally {
      await gw.close();
      await store.close();
      await proxy.stop();
    }
  });
});
