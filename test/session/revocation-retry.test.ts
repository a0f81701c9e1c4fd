/**
 * A sign-out during a database outage: this replica refuses the session at once, and
 * the revocation is kept and retried, so once the database is back every other replica
 * refuses the (copied) cookie too. Two revocation checks on one real SQLite store stand
 * for two replicas; the store's writes fail while `down` is set.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { StoreError, type Store } from '../../src/store/types.ts';
import { storeRevocation } from '../../src/session/revocation.ts';
import type { SessionData } from '../../src/session/types.ts';
import { staffSession } from '../support/session.ts';

test('a sign-out the store could not record is retried until it is, then every replica refuses the session', async (t) => {
  const real = await openStore({ driver: 'sqlite', path: ':memory:' });
  t.after(() => real.close());
  let down = false;
  const store: Store = {
    ...real,
    consumeOnce: (...a) => (down ? Promise.reject(new StoreError('UNAVAILABLE', 'connection refused')) : real.consumeOnce(...a)),
  };
  const user = await real.createUser({ realm: 'staff', email: 'ada@example.com', displayName: 'Ada', role: 'member' });
  const now = Date.now();
  const session: SessionData = staffSession(user, now);
  const errors: unknown[] = [];
  const opts = { ttlMs: 0, sessionLifetimeMs: 3_600_000, now: Date.now, retryMs: 50, onError: (e: unknown) => errors.push(e) };
  const here = storeRevocation(store, opts);
  const there = storeRevocation(store, opts);
  t.after(async () => {
    await here.close();
    await there.close();
  });
  assert.equal((await there.review(session, Date.now())) === null, false);

  down = true;
  await assert.rejects(here.revokeSession(session, Date.now()), StoreError, 'the caller learns it was not recorded');
  assert.equal((await here.review(session, Date.now())) === null, true, 'refused at once on this replica');
  assert.equal(here.pendingRevocations(), 1);
  await sleep(200);
  assert.equal((await there.review(session, Date.now())) === null, false, 'not recorded while the store is down');
  assert.equal(here.pendingRevocations(), 1, 'still kept');

  down = false;
  for (let i = 0; i < 100 && here.pendingRevocations() > 0; i++) await sleep(20);
  assert.equal(here.pendingRevocations(), 0, 'recorded once the store is back');
  assert.equal((await there.review(session, Date.now())) === null, true, 'every replica refuses it now');
  assert.ok(errors.length > 0, 'the failures were reported');
});

test('close() makes one last attempt to record what is pending', async (t) => {
  const real = await openStore({ driver: 'sqlite', path: ':memory:' });
  t.after(() => real.close());
  let down = true;
  const store: Store = { ...real, consumeOnce: (...a) => (down ? Promise.reject(new StoreError('UNAVAILABLE', 'down')) : real.consumeOnce(...a)) };
  const now = Date.now();
  const session = {
    v: 1,
    sid: randomUUID(),
    realm: 'staff',
    host: 'h',
    uid: 'u',
    email: 'e@example.com',
    name: 'n',
    role: 'member',
    client: null,
    amr: ['pwd'],
    authTime: 0,
    iat: now,
    seen: now,
    idp: null,
  } as SessionData;
  const check = storeRevocation(store, { ttlMs: 0, sessionLifetimeMs: 3_600_000, now: Date.now, retryMs: 60_000 });
  await assert.rejects(check.revokeSession(session, now));
  down = false;
  await check.close();
  assert.equal(check.pendingRevocations(), 0);
  const elsewhere = storeRevocation(real, { ttlMs: 0, sessionLifetimeMs: 3_600_000, now: Date.now });
  assert.equal((await elsewhere.review(session, Date.now())) === null, true, 'another replica sees the sign-out');
  await elsewhere.close();
});
