/**
 * The contract every Store implementation passes. One store is opened per suite;
 * each test works in its own realm / key space so tests do not see each other.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { StoreError } from '../../src/store/types.ts';
import type { LockoutPolicy, Store, StoreErrorCode } from '../../src/store/types.ts';

async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

function unique(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

function times<T>(count: number, make: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => make(index)));
}

function countTrue(results: readonly boolean[]): number {
  return results.filter(Boolean).length;
}

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store?.close();
    });

    async function newUser(realm = unique('realm'), email = `${randomUUID()}@example.com`) {
      return store.createUser({ realm, email, displayName: 'Someone' });
    }

    test('kind, ping and an idempotent migrate', async () => {
      assert.equal(typeof store.kind, 'string');
      await store.ping();
      await store.migrate();
    });

    test('createUser fills defaults; get and getByEmail find it case-insensitively', async () => {
      const realm = unique('realm');
      const user = await store.createUser({ realm, email: '  Alice@Example.COM ', displayName: 'Alice' });
      assert.match(user.id, /^[0-9a-f-]{36}$/);
      assert.equal(user.realm, realm);
      assert.equal(user.email, 'alice@example.com');
      assert.equal(user.emailDisplay, 'Alice@Example.COM');
      assert.equal(user.role, 'member');
      assert.equal(user.status, 'active');
      assert.equal(user.passwordHash, null);
      assert.equal(user.totpSecretEnc, null);
      assert.equal(user.totpLastStep, null);
      assert.equal(user.failedCount, 0);
      assert.equal(user.lockedUntil, null);
      assert.equal(typeof user.createdAt, 'number');
      assert.equal(typeof user.sessionsValidAfter, 'number');
      assert.equal(user.updatedAt, user.createdAt);

      assert.deepEqual(await store.getUser(realm, user.id), user);
      assert.deepEqual(await store.getUserByEmail(realm, 'ALICE@example.com'), user);
      assert.equal(await store.getUser('other-realm', user.id), null);
      assert.equal(await store.getUser(realm, randomUUID()), null);
      assert.equal(await store.getUserByEmail(realm, 'bob@example.com'), null);
    });

    test('an email is unique per realm, not across realms', async () => {
      const realm = unique('realm');
      await store.createUser({ realm, email: 'dup@example.com', displayName: 'A', role: 'admin', passwordHash: 'h' });
      await rejectsWith(store.createUser({ realm, email: 'DUP@example.com', displayName: 'B' }), 'DUPLICATE');
      const other = await store.createUser({ realm: unique('realm'), email: 'dup@example.com', displayName: 'C' });
      assert.equal(other.email, 'dup@example.com');
    });

    test('listUsers filters by realm', async () => {
      const realm = unique('realm');
      await newUser(realm, 'b@example.com');
      await newUser(realm, 'a@example.com');
      const elsewhere = await newUser();
      assert.deepEqual(
        (await store.listUsers(realm)).map((user) => user.email),
        ['a@example.com', 'b@example.com'],
      );
      const all = await store.listUsers();
      assert.ok(all.some((user) => user.id === elsewhere.id));
      assert.ok(all.filter((user) => user.realm === realm).length === 2);
    });

    test('updateUser patches fields, and rejects NOT_FOUND / DUPLICATE', async () => {
      const realm = unique('realm');
      const user = await newUser(realm, 'first@example.com');
      await newUser(realm, 'taken@example.com');
      const patched = await store.updateUser(realm, user.id, {
        email: ' New@Example.com',
        displayName: 'New Name',
        role: 'admin',
        status: 'disabled',
        passwordHash: 'scrypt$x',
        totpSecretEnc: 'v1.k.a.b',
        totpEnrolledAt: 1_700_000_000_000,
        totpLastStep: 5,
        sessionsValidAfter: 1_700_000_000_001,
      });
      assert.equal(patched.email, 'new@example.com');
      assert.equal(patched.emailDisplay, 'New@Example.com');
      assert.equal(patched.displayName, 'New Name');
      assert.equal(patched.role, 'admin');
      assert.equal(patched.status, 'disabled');
      assert.equal(patched.passwordHash, 'scrypt$x');
      assert.equal(patched.totpEnrolledAt, 1_700_000_000_000);
      assert.equal(patched.totpLastStep, 5);
      assert.equal(patched.sessionsValidAfter, 1_700_000_000_001);
      assert.ok(patched.updatedAt >= user.updatedAt);
      assert.deepEqual(await store.getUser(realm, user.id), patched);

      const cleared = await store.updateUser(realm, user.id, { passwordHash: null, totpSecretEnc: null });
      assert.equal(cleared.passwordHash, null);
      assert.equal(cleared.totpSecretEnc, null);
      assert.equal(cleared.displayName, 'New Name');
      assert.deepEqual(await store.updateUser(realm, user.id, {}), await store.getUser(realm, user.id));

      await rejectsWith(store.updateUser(realm, user.id, { email: 'TAKEN@example.com' }), 'DUPLICATE');
      await rejectsWith(store.updateUser(realm, randomUUID(), { displayName: 'x' }), 'NOT_FOUND');
      await rejectsWith(store.updateUser('other-realm', user.id, { displayName: 'x' }), 'NOT_FOUND');
    });

    test('external id (tenant + object id) lookup and uniqueness', async () => {
      const realm = unique('realm');
      const tid = randomUUID();
      const bound = await store.createUser({
        realm,
        email: 'sso@example.com',
        displayName: 'S',
        externalTid: tid,
        externalOid: 'oid-1',
      });
      assert.deepEqual(await store.getUserByExternalId(realm, tid, 'oid-1'), bound);
      assert.equal(await store.getUserByExternalId(realm, tid, 'oid-2'), null);
      assert.equal(await store.getUserByExternalId('other-realm', tid, 'oid-1'), null);

      const later = await newUser(realm);
      const linked = await store.updateUser(realm, later.id, { externalTid: tid, externalOid: 'oid-2' });
      assert.deepEqual(await store.getUserByExternalId(realm, tid, 'oid-2'), linked);
      await rejectsWith(store.updateUser(realm, later.id, { externalOid: 'oid-1' }), 'DUPLICATE');
      const elsewhere = await store.createUser({
        realm: unique('realm'),
        email: 'sso@example.com',
        displayName: 'S',
        externalTid: tid,
        externalOid: 'oid-1',
      });
      assert.equal(elsewhere.externalOid, 'oid-1');
    });

    test('recordFailure counts in a window, locks, restarts; clearFailures forgets', async () => {
      const realm = unique('realm');
      const user = await newUser(realm);
      const policy: LockoutPolicy = { maxFailures: 3, windowMs: 1000, lockMs: 5000 };
      const t0 = 1_700_000_000_000;
      assert.deepEqual(await store.recordFailure(realm, user.id, t0, policy), { failures: 1, lockedUntil: null });
      assert.deepEqual(await store.recordFailure(realm, user.id, t0 + 10, policy), { failures: 2, lockedUntil: null });
      assert.deepEqual(await store.recordFailure(realm, user.id, t0 + 20, policy), { failures: 3, lockedUntil: t0 + 5020 });
      const locked = await store.getUser(realm, user.id);
      assert.equal(locked?.failedCount, 3);
      assert.equal(locked?.failedWindowStart, t0);
      assert.equal(locked?.lockedUntil, t0 + 5020);

      await store.clearFailures(realm, user.id);
      const cleared = await store.getUser(realm, user.id);
      assert.equal(cleared?.failedCount, 0);
      assert.equal(cleared?.failedWindowStart, null);
      assert.equal(cleared?.lockedUntil, null);

      // a failure after the window starts counting again
      assert.equal((await store.recordFailure(realm, user.id, t0, policy)).failures, 1);
      assert.equal((await store.recordFailure(realm, user.id, t0 + 999, policy)).failures, 2);
      assert.deepEqual(await store.recordFailure(realm, user.id, t0 + 1000, policy), { failures: 1, lockedUntil: null });
      assert.equal((await store.getUser(realm, user.id))?.failedWindowStart, t0 + 1000);

      await rejectsWith(store.recordFailure(realm, randomUUID(), t0, policy), 'NOT_FOUND');
      await store.clearFailures(realm, randomUUID());
    });

    test('recordFailure is atomic under concurrency', async () => {
      const realm = unique('realm');
      const user = await newUser(realm);
      const policy: LockoutPolicy = { maxFailures: 100, windowMs: 60_000, lockMs: 1000 };
      const now = Date.now();
      const results = await times(10, () => store.recordFailure(realm, user.id, now, policy));
      assert.deepEqual(
        results.map((result) => result.failures).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
    });

    test('acceptTotpStep is a compare-and-set on the last step', async () => {
      const realm = unique('realm');
      const user = await newUser(realm);
      assert.equal(await store.acceptTotpStep(realm, user.id, 100), true);
      assert.equal(await store.acceptTotpStep(realm, user.id, 100), false);
      assert.equal(await store.acceptTotpStep(realm, user.id, 99), false);
      assert.equal(await store.acceptTotpStep(realm, user.id, 101), true);
      assert.equal((await store.getUser(realm, user.id))?.totpLastStep, 101);
      assert.equal(await store.acceptTotpStep('other-realm', user.id, 500), false);
      assert.equal(await store.acceptTotpStep(realm, randomUUID(), 500), false);

      const concurrent = await times(20, () => store.acceptTotpStep(realm, user.id, 200));
      assert.equal(countTrue(concurrent), 1);
      assert.equal((await store.getUser(realm, user.id))?.totpLastStep, 200);
    });

    test('recovery codes are single-use and replaced as a set', async () => {
      const user = await newUser();
      await store.setRecoveryCodes(user.id, ['h1', 'h2', 'h3', 'h3']);
      assert.equal(await store.countRecoveryCodes(user.id), 3);
      assert.equal(await store.consumeRecoveryCode(user.id, 'h1'), true);
      assert.equal(await store.consumeRecoveryCode(user.id, 'h1'), false);
      assert.equal(await store.consumeRecoveryCode(user.id, 'nope'), false);
      assert.equal(await store.countRecoveryCodes(user.id), 2);

      const concurrent = await times(10, () => store.consumeRecoveryCode(user.id, 'h2'));
      assert.equal(countTrue(concurrent), 1);
      assert.equal(await store.countRecoveryCodes(user.id), 1);

      await store.setRecoveryCodes(user.id, ['n1', 'n2']);
      assert.equal(await store.countRecoveryCodes(user.id), 2);
      assert.equal(await store.consumeRecoveryCode(user.id, 'h3'), false);
      assert.equal(await store.consumeRecoveryCode(user.id, 'n1'), true);

      await rejectsWith(store.setRecoveryCodes(randomUUID(), ['x']), 'NOT_FOUND');
      assert.equal(await store.countRecoveryCodes(randomUUID()), 0);
    });

    test('deleteUser removes the user and cascades to recovery codes', async () => {
      const realm = unique('realm');
      const user = await newUser(realm);
      await store.setRecoveryCodes(user.id, ['a', 'b']);
      assert.equal(await store.deleteUser('other-realm', user.id), false);
      assert.equal(await store.deleteUser(realm, user.id), true);
      assert.equal(await store.getUser(realm, user.id), null);
      assert.equal(await store.countRecoveryCodes(user.id), 0);
      assert.equal(await store.consumeRecoveryCode(user.id, 'a'), false);
      assert.equal(await store.deleteUser(realm, user.id), false);
      // the email is free again
      await store.createUser({ realm, email: user.email, displayName: 'Again' });
    });

    test('recordKeyedFailure counts and locks a key like an account; keyedLockedUntil reads it; purgeExpired drops it', async () => {
      const key = `signin:staff:nobody-${Math.random()}@example.com`;
      const policy = { maxFailures: 3, windowMs: 60_000, lockMs: 300_000 };
      const t = Date.now();
      assert.equal(await store.keyedLockedUntil(key, t), null);
      assert.deepEqual(await store.recordKeyedFailure(key, t, policy), { failures: 1, lockedUntil: null });
      assert.deepEqual(await store.recordKeyedFailure(key, t + 1, policy), { failures: 2, lockedUntil: null });
      assert.deepEqual(await store.recordKeyedFailure(key, t + 2, policy), { failures: 3, lockedUntil: t + 2 + 300_000 });
      assert.equal(await store.keyedLockedUntil(key, t + 3), t + 2 + 300_000);
      assert.equal(await store.keyedLockedUntil(key, t + 2 + 300_000), null, 'the lock ends');
      // a failure after the window restarts the count
      assert.deepEqual(await store.recordKeyedFailure(key, t + 400_000, policy), { failures: 1, lockedUntil: null });
      await store.purgeExpired(t + 400_000 + 300_001);
      assert.deepEqual(await store.recordKeyedFailure(key, t + 400_000 + 300_002, policy), { failures: 1, lockedUntil: null });
    });

    test('concurrent recordKeyedFailure calls all count', async () => {
      const key = `signin:staff:race-${Math.random()}`;
      const policy = { maxFailures: 100, windowMs: 60_000, lockMs: 60_000 };
      const t = Date.now();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.recordKeyedFailure(key, t, policy)));
      assert.deepEqual(
        results.map((r) => r.failures).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    test('hasOnceKey reads a recorded key until it expires, without recording one', async () => {
      const key = `has-${Math.random()}`;
      const now = Date.now();
      assert.equal(await store.hasOnceKey(key, now), false);
      assert.equal(await store.hasOnceKey(key, now), false, 'reading must not record the key');
      assert.equal(await store.consumeOnce(key, now + 1000), true);
      assert.equal(await store.hasOnceKey(key, now), true);
      assert.equal(await store.hasOnceKey(key, now + 1000), false, 'expired keys read as absent');
    });

    test('consumeOnce is true once; purgeExpired removes expired keys', async () => {
      const key = unique('once');
      const later = Date.now() + 60_000;
      assert.equal(await store.consumeOnce(key, later), true);
      assert.equal(await store.consumeOnce(key, later), false);

      const raced = unique('once');
      assert.equal(countTrue(await times(20, () => store.consumeOnce(raced, later))), 1);

      // far-past expiries, so that no other test's keys are purged here
      const expiredA = unique('once');
      const expiredB = unique('once');
      assert.equal(await store.consumeOnce(expiredA, 1000), true);
      assert.equal(await store.consumeOnce(expiredB, 2000), true);
      assert.equal(await store.consumeOnce(expiredB, 2000), false);
      assert.equal(await store.purgeExpired(2000), 2);
      assert.equal(await store.purgeExpired(2000), 0);
      assert.equal(await store.consumeOnce(expiredA, later), true);
      assert.equal(await store.consumeOnce(key, later), false);
    });

    test('settings are versioned; a stale expectedVersion is a CONFLICT', async () => {
      const key = unique('setting');
      assert.equal(await store.getSetting(key), null);
      const value = { nested: { list: [1, 'two', null, true] }, n: 1.5, s: 'é' };
      const v1 = await store.putSetting(key, value);
      assert.equal(v1.version, 1);
      assert.deepEqual(v1.value, value);
      assert.equal(typeof v1.updatedAt, 'number');
      assert.deepEqual(await store.getSetting(key), v1);

      assert.equal((await store.putSetting(key, 'plain')).version, 2);
      const v3 = await store.putSetting(key, ['x'], 2);
      assert.equal(v3.version, 3);
      assert.deepEqual((await store.getSetting<string[]>(key))?.value, ['x']);
      await rejectsWith(store.putSetting(key, 'stale', 2), 'CONFLICT');
      await rejectsWith(store.putSetting(key, 'exists', 0), 'CONFLICT');
      assert.deepEqual((await store.getSetting(key))?.value, ['x']);

      const fresh = unique('setting');
      await rejectsWith(store.putSetting(fresh, 1, 4), 'CONFLICT');
      assert.equal((await store.putSetting(fresh, 1, 0)).version, 1);

      const raced = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => store.putSetting(fresh, n, 1)));
      assert.equal(raced.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of raced) {
        if (result.status === 'rejected') assert.equal((result.reason as StoreError).code, 'CONFLICT');
      }
      assert.equal((await store.getSetting(fresh))?.version, 2);
    });

    test('listSettings matches a literal, case-sensitive prefix', async () => {
      const prefix = `${unique('list')}:%_`;
      await store.putSetting(`${prefix}b`, 2);
      await store.putSetting(`${prefix}a`, 1);
      await store.putSetting(`${prefix.toUpperCase()}c`, 3);
      await store.putSetting(`${prefix.slice(0, -2)}xyz`, 4);
      const listed = await store.listSettings(prefix);
      assert.deepEqual(
        listed.map((setting) => [setting.key, setting.value]),
        [
          [`${prefix}a`, 1],
          [`${prefix}b`, 2],
        ],
      );
    });

    test('audit is appended and listed newest first, with filters', async () => {
      const realm = unique('realm');
      const base = { outcome: 'info', userId: null, actor: null, ip: null, details: {} } as const;
      await store.appendAudit({
        ...base,
        at: 1000,
        type: 'signin',
        outcome: 'success',
        realm,
        userId: 'u1',
        ip: '192.0.2.1',
        details: { method: 'password', n: 1 },
      });
      await store.appendAudit({ ...base, at: 3000, type: 'signout', realm, actor: 'cli' });
      await store.appendAudit({ ...base, at: 2000, type: 'signin', outcome: 'failure', realm });
      await store.appendAudit({ ...base, at: 2000, type: 'signin', realm });
      await store.appendAudit({ ...base, at: 5000, type: 'signin', realm: unique('realm') });

      const listed = await store.listAudit({ realm });
      assert.deepEqual(
        listed.map((event) => [event.at, event.type, event.outcome]),
        [
          [3000, 'signout', 'info'],
          [2000, 'signin', 'info'],
          [2000, 'signin', 'failure'],
          [1000, 'signin', 'success'],
        ],
      );
      const oldest = listed[3];
      assert.equal(typeof oldest?.id, 'number');
      assert.deepEqual(
        { realm: oldest?.realm, userId: oldest?.userId, actor: oldest?.actor, ip: oldest?.ip, details: oldest?.details },
        { realm, userId: 'u1', actor: null, ip: '192.0.2.1', details: { method: 'password', n: 1 } },
      );
      assert.equal(listed[0]?.actor, 'cli');
      assert.deepEqual(
        (await store.listAudit({ realm, type: 'signin' })).map((event) => event.at),
        [2000, 2000, 1000],
      );
      assert.deepEqual(
        (await store.listAudit({ realm, limit: 2 })).map((event) => event.at),
        [3000, 2000],
      );
      const recent = await store.listAudit({ limit: 1000 });
      assert.ok(recent.length >= 5);
      assert.ok(recent.every((event, index) => index === 0 || recent[index - 1]!.at >= event.at));

      await store.appendAudit({ ...base, at: 9000, type: 'settings.change', realm: null });
      assert.ok((await store.listAudit({ type: 'settings.change' })).some((event) => event.realm === null && event.at === 9000));
    });

    test('audit filters: a person (user or actor), a time range, pages (offset)', async () => {
      const realm = unique('realm');
      const base = { outcome: 'info', userId: null, actor: null, ip: null, details: {} } as const;
      for (let i = 0; i < 5; i++) await store.appendAudit({ ...base, at: 10_000 + i, type: 'signin', realm, userId: 'p1', actor: 'p1' });
      await store.appendAudit({ ...base, at: 10_100, type: 'user.disable', realm, userId: 'p2', actor: 'p1' });
      await store.appendAudit({ ...base, at: 10_200, type: 'user.disable', realm, userId: 'p2', actor: 'cli' });
      assert.equal((await store.listAudit({ realm, person: 'p1' })).length, 6, 'as user or as actor');
      assert.deepEqual(
        (await store.listAudit({ realm, person: 'p2' })).map((e) => e.at),
        [10_200, 10_100],
      );
      assert.deepEqual(
        (await store.listAudit({ realm, since: 10_001, until: 10_003 })).map((e) => e.at),
        [10_002, 10_001],
      );
      assert.deepEqual(
        (await store.listAudit({ realm, limit: 2, offset: 2 })).map((e) => e.at),
        [10_004, 10_003],
      );
      assert.deepEqual(await store.listAudit({ realm, offset: 100 }), []);
    });

    test('sessions: recorded, updated in place, listed per user most recent first, deleted, purged when expired', async () => {
      const realm = unique('realm');
      const t = 5_000_000_000_000;
      const a = {
        sid: unique('sid'),
        realm,
        userId: 'u1',
        createdAt: t,
        lastSeen: t,
        expiresAt: t + 1000,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
        ip: '192.0.2.1',
      };
      const b = { ...a, sid: unique('sid'), lastSeen: t + 10, userAgent: null, ip: null };
      await store.recordSession(a);
      await store.recordSession(b);
      await store.recordSession({ ...a, sid: unique('sid'), userId: 'u2' });
      assert.deepEqual(
        (await store.listSessions(realm, 'u1', t)).map((s) => s.sid),
        [b.sid, a.sid],
      );
      await store.recordSession({ ...a, lastSeen: t + 20, ip: '192.0.2.9', createdAt: 1 });
      const [first] = await store.listSessions(realm, 'u1', t);
      assert.deepEqual(first, { ...a, lastSeen: t + 20, ip: '192.0.2.9' }, 'an update keeps created_at');
      assert.equal(await store.deleteSession(b.sid), true);
      assert.equal(await store.deleteSession(b.sid), false);
      assert.deepEqual(await store.listSessions(realm, 'u1', t + 1000), [], 'expired sessions are not listed');
      assert.ok((await store.purgeExpired(t + 1000)) >= 2);
      assert.deepEqual(await store.listSessions(realm, 'u1', 0), []);
    });

    test('close is idempotent and a closed store rejects UNAVAILABLE', async () => {
      const other = await open();
      await other.ping();
      await other.close();
      await other.close();
      await rejectsWith(other.ping(), 'UNAVAILABLE');
      await rejectsWith(other.getUser('staff', randomUUID()), 'UNAVAILABLE');
    });
  });
}
