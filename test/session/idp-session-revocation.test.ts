// Front-channel sign-out reaches every replica: a revocation keyed by tenant + Entra sid,
// recorded on one replica, ends the sessions started from that Entra session on another
// within the revocation bound (cached like a single session's sign-out), and no other.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { storeRevocation } from '../../src/session/revocation.ts';
import type { SessionData } from '../../src/session/types.ts';
import { staffSession } from '../support/session.ts';

const TID = '11111111-2222-4333-8444-555555555555';

test('an Entra session revoked on one replica ends its gateway sessions on another, after the cache bound', async (t) => {
  const store = await openStore({ driver: 'sqlite', path: ':memory:' });
  t.after(() => store.close());
  const user = await store.createUser({ realm: 'staff', email: 'ada@example.com', displayName: 'Ada', role: 'member' });
  let clock = Date.now();
  const session = (sid: string | undefined): SessionData =>
    staffSession(user, clock, { amr: ['sso'], idp: { tid: TID, oid: randomUUID(), ...(sid ? { sid } : {}) } });
  const opts = { ttlMs: 10_000, sessionLifetimeMs: 3_600_000, now: () => clock };
  const here = storeRevocation(store, opts);
  const there = storeRevocation(store, opts);
  t.after(async () => {
    await here.close();
    await there.close();
  });
  const fromIt = [session('entra-sid-1'), session('entra-sid-1')];
  const other = session('entra-sid-2');
  const noSid = session(undefined);
  for (const s of [...fromIt, other, noSid]) assert.equal((await there.review(s, clock)) === null, false);

  await here.revokeIdpSession(TID, 'entra-sid-1', clock);
  assert.equal(null === (await here.review(fromIt[0] as SessionData, clock)), true, 'at once on the replica that received it');
  assert.equal(null === (await there.review(fromIt[1] as SessionData, clock)), false, 'the other replica still has its cached answer');
  clock += 10_001;
  for (const s of fromIt) assert.equal(null === (await there.review(s, clock)), true, 'within the bound on every replica');
  assert.equal(null === (await there.review(other, clock)), false, 'another Entra session is not affected');
  assert.equal(null === (await there.review(noSid, clock)), false);
  assert.equal(
    null ===
      (await there.review(
        { ...(fromIt[0] as SessionData), idp: { tid: '99999999-2222-4333-8444-555555555555', oid: randomUUID(), sid: 'entra-sid-1' } },
        clock,
      )),
    false,
    'the same sid in another tenant is another session',
  );
});
