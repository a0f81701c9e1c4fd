/**
 * Per-account lockout: 5 failures in 10 minutes lock the account for 15 minutes,
 * whatever the spelling of the email (case, spaces, full-width letters); the lock is
 * in the store, so another replica on the same store refuses too; the answer says
 * when to retry; the lock runs out on the (injected) clock. An unknown email locks
 * the same way, so lockout does not reveal which accounts exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { alertOf, Client, codeAt, createEnrolledUser, manualClock, PASSWORD, submitPassword, submitTotp } from './flow.ts';

const SPELLINGS = ['Lock.Me@Example.com', '  lock.me@example.com ', 'LOCK.ME@EXAMPLE.COM', '\tlock.me@example.com\u00a0', 'ｌｏｃｋ.me@example.com'];

test('five failures lock the account for 15 minutes, on every replica, whatever the email spelling', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ transport: 'inject', now: clock.now });
  t.after(() => gw.close());
  const { user, secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'lock.me@example.com' });
  const client = new Client(gw, HOSTS.staff);

  for (const email of SPELLINGS.slice(0, 4)) {
    const res = await submitPassword(client, email, 'wrong password here');
    assert.equal(res.status, 401, email);
    assert.equal(alertOf(res.body), 'Email or password is incorrect.');
    clock.advance(60_000);
  }
  assert.equal((await gw.store.getUser('staff', user.id))?.failedCount, 4, 'every spelling counted against the one account');

  const fifth = await submitPassword(client, SPELLINGS[4] as string, 'wrong password here');
  assert.equal(fifth.status, 429);
  assert.equal(fifth.headers['retry-after'], '900');
  const lockedAt = clock.t;
  assert.match(alertOf(fifth.body) ?? '', /locked.*Try again in 15 minutes \(at \d\d:\d\d UTC\)/);
  assert.equal((await gw.store.getUser('staff', user.id))?.lockedUntil, lockedAt + 15 * 60_000);

  // the right password does not get through a lock, and the answer says when to retry
  clock.advance(14 * 60_000);
  const during = await submitPassword(client, 'lock.me@example.com', PASSWORD);
  assert.equal(during.status, 429);
  assert.equal(during.headers['retry-after'], '60');
  assert.match(alertOf(during.body) ?? '', /Try again in 1 minute /);

  // another replica on the same store sees the same lock
  const replica = await startGateway({ transport: 'inject', store: gw.store, now: clock.now });
  t.after(() => replica.close());
  assert.equal((await submitPassword(new Client(replica, HOSTS.staff), 'lock.me@example.com', PASSWORD)).status, 429);

  // the lock runs out
  clock.advance(60_000);
  const after = await submitPassword(client, 'lock.me@example.com', PASSWORD);
  assert.equal(after.status, 303);
  const done = await submitTotp(client, await codeAt(secret, clock.t));
  assert.equal(done.status, 303);
  assert.equal((await gw.store.getUser('staff', user.id))?.failedCount, 0, 'a success forgets the failures');

  const events = await gw.store.listAudit({ realm: 'staff', type: 'lockout' });
  assert.equal(events.length, 1);
  assert.equal(events[0]?.userId, user.id);
});

test('failures spread over more than 10 minutes do not lock', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ transport: 'inject', now: clock.now });
  t.after(() => gw.close());
  await createEnrolledUser(gw, HOSTS.staff, { email: 'slow@example.com' });
  const client = new Client(gw, HOSTS.staff);
  for (let i = 0; i < 6; i++) {
    assert.equal((await submitPassword(client, 'slow@example.com', 'wrong password here')).status, 401);
    clock.advance(3 * 60_000);
  }
});

test('an unknown email locks exactly like an account', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ transport: 'inject', now: clock.now });
  t.after(() => gw.close());
  await createEnrolledUser(gw, HOSTS.acme, { email: 'real@example.com' });
  const client = new Client(gw, HOSTS.acme);
  const answers = async (email: string) => {
    const out: Array<{ status: number; alert: string | null; retry: unknown }> = [];
    for (let i = 0; i < 6; i++) {
      const res = await submitPassword(client, email, 'wrong password here');
      out.push({ status: res.status, alert: alertOf(res.body), retry: res.headers['retry-after'] });
    }
    return out;
  };
  const real = await answers('real@example.com');
  const ghost = await answers('ghost@example.com');
  assert.deepEqual(
    real.map((a) => a.status),
    [401, 401, 401, 401, 429, 429],
  );
  assert.deepEqual(ghost, real);
});
