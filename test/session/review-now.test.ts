/**
 * The hot path's synchronous answers (src/session/revocation.ts reviewNow,
 * src/identity/signer.ts cachedAssertion): the same answer as the asynchronous call
 * whenever everything it needs is cached and fresh, and "don't know" (undefined)
 * otherwise — never a stale "yes". On a real SQLite store, with a moving clock.
 */
import { randomUUID } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { storeRevocation } from '../../src/session/revocation.ts';
import { identityOf, type SessionData } from '../../src/session/types.ts';
import { staffSession } from '../support/session.ts';
import { createSigner } from '../../src/identity/signer.ts';
import { loadSigningKeys } from '../../src/identity/keys.ts';
import type { Config } from '../../src/config/schema.ts';

const TTL = 30_000;

test('reviewNow answers from fresh caches only, and exactly as review() does', async (t) => {
  const store = await openStore({ driver: 'sqlite', path: ':memory:' });
  t.after(() => store.close());
  let clock = Date.now();
  let passwordAllowed = true;
  const revocation = storeRevocation(store, {
    ttlMs: TTL,
    sessionLifetimeMs: 3_600_000,
    now: () => clock,
    realmRules: async () => Promise.resolve({ password: passwordAllowed, sso: true, ssoTenant: null, passwordValidAfter: 0, ssoValidAfter: 0 }),
  });
  t.after(() => revocation.close());
  const user = await store.createUser({ realm: 'staff', email: 'ada@example.com', displayName: 'Ada', role: 'member' });
  const session: SessionData = staffSession(user, clock);

  assert.equal(revocation.reviewNow(session, clock), undefined, 'nothing cached yet: unknown');
  assert.equal(await revocation.review(session, clock), session);
  assert.equal(revocation.reviewNow(session, clock), session, 'cached and fresh: the same answer');

  // the role changed in the store: once the cache is stale, unknown; after review(), the new role
  await store.updateUser('staff', user.id, { role: 'admin' });
  assert.equal(revocation.reviewNow(session, clock + 1_000), session, 'within the check interval, the cached state answers');
  clock += TTL;
  assert.equal(revocation.reviewNow(session, clock), undefined, 'stale: unknown, never the old answer');
  const reviewed = await revocation.review(session, clock);
  assert.equal(reviewed?.role, 'admin');
  assert.deepEqual(revocation.reviewNow(session, clock), reviewed);

  // a signed-out session: null at once, from the cache
  await revocation.revokeSession(session, clock);
  assert.equal(revocation.reviewNow(session, clock), null);
  assert.equal(await revocation.review(session, clock), null);

  // a disabled account: null once reviewed
  const other = { ...session, sid: randomUUID() };
  clock += TTL;
  await store.updateUser('staff', user.id, { status: 'disabled' });
  assert.equal(revocation.reviewNow(other, clock), undefined);
  assert.equal(await revocation.review(other, clock), null);
  assert.equal(revocation.reviewNow(other, clock), null);

  // the realm's rules say no to password sessions: null, from the cache too
  await store.updateUser('staff', user.id, { status: 'active' });
  passwordAllowed = false;
  clock += TTL;
  const third = { ...session, sid: randomUUID() };
  assert.equal(await revocation.review(third, clock), null);
  assert.equal(revocation.reviewNow(third, clock), null);
});

const TENANT = '72F988BF-86F1-41AF-91AB-2D7CD011DB47';

test('an Entra session: reviewNow follows a sign-out at Microsoft (its Entra session id), as review() does', async (t) => {
  const store = await openStore({ driver: 'sqlite', path: ':memory:' });
  t.after(() => store.close());
  const clock = Date.now();
  const revocation = storeRevocation(store, {
    ttlMs: TTL,
    sessionLifetimeMs: 3_600_000,
    now: () => clock,
    realmRules: async () => Promise.resolve({ password: true, sso: true, ssoTenant: TENANT.toLowerCase(), passwordValidAfter: 0, ssoValidAfter: 0 }),
  });
  t.after(() => revocation.close());
  const user = await store.createUser({ realm: 'staff', email: 'ada@example.com', displayName: 'Ada', role: 'member' });
  const idp = Object.freeze({ tid: TENANT, oid: randomUUID(), sid: randomUUID() });
  const session = staffSession(user, clock, { amr: ['sso'], idpAmr: ['pwd', 'mfa'], idp });
  // another gateway session from the same Entra session, and one from another Entra session
  const sibling = { ...session, sid: randomUUID() };
  const other = { ...session, sid: randomUUID(), idp: Object.freeze({ ...idp, sid: randomUUID() }) };
  for (const s of [session, sibling, other]) {
    assert.equal(await revocation.review(s, clock), s);
    // twice: the second answer comes from the remembered key of the Entra session
    assert.equal(revocation.reviewNow(s, clock), s);
    assert.equal(revocation.reviewNow(s, clock), s);
  }

  // Microsoft's front-channel sign-out names the tenant (in its own case) and the Entra session
  await revocation.revokeIdpSession(idp.tid.toLowerCase(), idp.sid, clock);
  assert.equal(revocation.reviewNow(session, clock), null, 'ended at once, from the cache');
  assert.equal(revocation.reviewNow(sibling, clock), null, 'every gateway session from that Entra session');
  assert.equal(revocation.reviewNow(other, clock), other, 'another Entra session goes on');
  assert.equal(await revocation.review(session, clock), null);
  assert.equal(await revocation.review(other, clock), other);
});

test('cachedAssertion is the assertion assertion() would give, until it is due for renewal', async () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const [key] = loadSigningKeys({ keys: { signing: [{ privateKey: pem, alg: 'ES256' }] } } as unknown as Config);
  let clock = Date.now();
  const signer = createSigner({ key: key as NonNullable<typeof key>, issuer: 'https://gateway.example.test', ttlSeconds: 60, now: () => clock });
  const identity = identityOf(staffSession({ id: 'u1', email: 'ada@example.com' }, clock));
  assert.equal(signer.cachedAssertion(identity, 'staff'), undefined);
  const jwt = await signer.assertion(identity, 'staff');
  assert.equal(signer.cachedAssertion(identity, 'staff'), jwt);
  assert.equal(signer.cachedAssertion(identity, 'portal'), undefined, 'per audience');
  assert.equal(signer.cachedAssertion({ ...identity, role: 'admin' }, 'staff'), undefined, 'per role');
  // one assertion per session: another audience (or role) gets its own, which replaces it
  const audienceOf = (t: string) => (JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString()) as { aud: string }).aud;
  const portal = await signer.assertion(identity, 'portal');
  assert.equal(audienceOf(portal), 'portal');
  assert.equal(signer.cachedAssertion(identity, 'portal'), portal);
  assert.equal(signer.cachedAssertion(identity, 'staff'), undefined, 'replaced');
  const admin = await signer.assertion({ ...identity, role: 'admin' }, 'portal');
  assert.notEqual(admin, portal);
  assert.equal(signer.cachedAssertion(identity, 'portal'), undefined, 'the member assertion was replaced');
  const again = await signer.assertion(identity, 'staff');
  assert.equal(audienceOf(again), 'staff');
  assert.notEqual(again, jwt, 'minted anew');
  clock += 45_001; // past the reuse window (a quarter of the lifetime, at least 10 s, left)
  assert.equal(signer.cachedAssertion(identity, 'staff'), undefined);
  assert.notEqual(await signer.assertion(identity, 'staff'), again);
});
