// No account takeover by email (issue #8 §1). An Entra identity (tid + oid) reaches an
// existing account only when an admin linked it, or — where the site allows it — when
// the ID token vouches for the email (`xms_edov: true`) of an account that is not an
// admin, has no password or authenticator and is linked to nobody. A tenant's user
// administrator can set any user's mail, so every other email (the `email` claim
// without `xms_edov`, Graph `mail`, a guest's UPN) never links, on staff or portals,
// even with auto-provisioning on. Each case signs in end to end through the stand-in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, last, startEnv, TENANTS, USERS, type Env, type Page } from './support.ts';
import type { FakeUser } from '../../../dev/fake-entra/index.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey, type PortalAuthSettings } from '../../../src/auth/policy.ts';
import { createLocalUser, linkIdentity, unlinkIdentity } from '../../../src/auth/password/users.ts';
import { enrolTotp } from '../../../dev/seed.ts';
import type { User } from '../../../src/store/types.ts';

const guid = (n: number) => `0000${n.toString().padStart(4, '0')}-1111-4111-8111-${n.toString().padStart(12, '0')}`;

/** people of the staff tenant whose email claims name accounts that are not theirs */
const MALLORY = {
  plain: { oid: guid(1), name: 'Mallory', preferredUsername: 'mallory@staff.test', email: 'it-admin@staff.test', emailVerified: false },
  edov: { oid: guid(2), name: 'Mallory', preferredUsername: 'mallory2@staff.test', email: 'it-admin@staff.test', emailVerified: true },
  edovFalse: { oid: guid(3), name: 'Mallory', preferredUsername: 'mallory3@staff.test', email: 'member@staff.test', emailVerified: false },
  member: { oid: guid(4), name: 'Mallory', preferredUsername: 'mallory4@staff.test', email: 'member@staff.test', emailVerified: true },
  graphOnly: { oid: guid(5), name: 'Mallory', preferredUsername: 'mallory5@staff.test', mail: 'invited@staff.test' },
  guest: {
    oid: guid(6),
    name: 'Guest',
    preferredUsername: 'invited_staff.test#EXT#@staff.onmicrosoft.test',
    userPrincipalName: 'invited_staff.test#EXT#@staff.onmicrosoft.test',
    mail: 'invited@staff.test',
  },
  upnOnly: { oid: guid(7), name: 'Mallory', preferredUsername: 'invited@staff.test', userPrincipalName: 'invited@staff.test' },
} satisfies Record<string, FakeUser>;

/** people of the staff tenant whose verified email may link */
const HONEST = {
  invited: { oid: guid(10), name: 'Ivy Invited', preferredUsername: 'invited@staff.test', email: 'invited@staff.test', emailVerified: true },
  admin: { oid: guid(11), name: 'IT Admin', preferredUsername: 'it-admin@staff.test', email: 'it-admin@staff.test', emailVerified: true },
} satisfies Record<string, FakeUser>;

/** people of Acme's tenant */
const ACME = {
  mallory: { oid: guid(20), name: 'Mallory', preferredUsername: 'mallory@acme.test', email: 'bob@acme.test', emailVerified: false },
  malloryEdov: { oid: guid(21), name: 'Mallory', preferredUsername: 'mallory2@acme.test', email: 'bob@acme.test', emailVerified: true },
  graphOnly: { oid: guid(22), name: 'Mallory', preferredUsername: 'mallory3@acme.test', mail: 'carol@acme.test' },
  carol: { oid: guid(23), name: 'Carol', preferredUsername: 'carol@acme.test', email: 'carol@acme.test', emailVerified: true },
} satisfies Record<string, FakeUser>;

describe('no account takeover by email', () => {
  let env: Env;
  let itAdmin: User;
  let member: User;
  let invited: User;
  let bob: User;

  const staffUpstreamCount = () => env.gw.staffUpstream.received.length;
  const portalUpstreamCount = () => env.gw.portalUpstream.received.length;

  async function setAcme(patch: Partial<PortalAuthSettings>): Promise<void> {
    const current = (await env.gw.store.getSetting<PortalAuthSettings>(portalAuthKey('acme')))?.value ?? DEFAULT_PORTAL_AUTH;
    await env.gw.store.putSetting(portalAuthKey('acme'), { ...current, ...patch });
    env.core.policy.invalidate();
  }

  /** the sign-in is refused with the "not linked" page, no session, nothing reaches the app */
  async function assertRefused(host: string, oid: string, account: User, upstreamCount: () => number): Promise<Page[]> {
    const before = upstreamCount();
    const browser = env.browser();
    const pages = await browser.signIn(host, oid, '/');
    const page = pages[0];
    assert.ok(page);
    assert.equal(pages.length, 1, `no redirect into the app: ${pages.map((p) => `${p.status} ${p.location}`).join(', ')}`);
    assert.equal(page.status, 403);
    assert.match(page.body, /not linked to a Regentra account yet/);
    assert.match(page.body, /Ask your admin/);
    assert.equal(String(page.headers['set-cookie'] ?? '').includes('regentra_session='), false, 'no session cookie');
    assert.equal(upstreamCount(), before, 'the upstream received nothing');
    const me = await browser.open(`http://${host}/.auth/me`, { headers: { accept: 'application/json' } });
    assert.equal(me.status, 401);
    const after = await env.gw.store.getUser(account.realm, account.id);
    assert.equal(after?.externalOid, account.externalOid, 'the account stays as it was');
    assert.equal(after?.externalTid, account.externalTid);
    assert.equal(await env.gw.store.getUserByExternalId(account.realm, TENANTS.staff, oid), null);
    assert.equal(await env.gw.store.getUserByExternalId(account.realm, TENANTS.acme, oid), null);
    return pages;
  }

  before(async () => {
    env = await startEnv({
      // the most permissive settings: provisioning and linking by verified email both on
      staff: { autoProvision: true, autoLink: true },
      acme: { provisioning: 'tenant', autoLink: true },
      extraUsers: { staff: [...Object.values(MALLORY), ...Object.values(HONEST)], acme: Object.values(ACME) },
    });
    const { store } = env.gw;
    const box = env.core.secretBox;
    itAdmin = await createLocalUser(store, {
      realm: 'staff',
      email: 'it-admin@staff.test',
      name: 'IT Admin',
      role: 'admin',
      password: 'a long admin passphrase',
      minLength: 12,
    });
    await enrolTotp(store, box, itAdmin);
    member = await createLocalUser(store, { realm: 'staff', email: 'member@staff.test', name: 'Member', password: 'a long member passphrase', minLength: 12 });
    await enrolTotp(store, box, member);
    invited = await createLocalUser(store, { realm: 'staff', email: 'invited@staff.test', name: 'Ivy Invited', password: null, minLength: 12 });
    bob = await createLocalUser(store, { realm: 'portal:acme', email: 'bob@acme.test', name: 'Bob', password: 'a long portal passphrase', minLength: 12 });
  });
  after(() => env.close());

  test('staff: the same email with another oid does not reach the admin account', async () => {
    const [page] = await assertRefused(HOSTS.staff, MALLORY.plain.oid, itAdmin, staffUpstreamCount);
    // the person sees their own tenant and object id, for an admin to link them; never the email's account
    assert.ok(page?.body.includes(MALLORY.plain.oid) && page.body.includes(TENANTS.staff), 'the identity to link is on the page');
    assert.ok(!page?.body.includes('it-admin@staff.test'), 'the page does not name the account that holds the email');
    const failure = (await env.gw.store.listAudit({ realm: 'staff', type: 'signin.failure' }))[0];
    assert.equal(failure?.details.code, 'SSO_NOT_LINKED');
    assert.equal(failure?.details.oid, MALLORY.plain.oid, 'the audit event names the identity, for an admin to link it');
    assert.equal(failure?.details.tid, TENANTS.staff);
    assert.equal(failure?.details.emailVerified, false);
  });

  test('staff: xms_edov true does not link an admin with a password and TOTP', async () => {
    await assertRefused(HOSTS.staff, MALLORY.edov.oid, itAdmin, staffUpstreamCount);
  });

  test('staff: xms_edov false does not link', async () => {
    await assertRefused(HOSTS.staff, MALLORY.edovFalse.oid, member, staffUpstreamCount);
  });

  test('staff: xms_edov true does not link a member with a password and TOTP', async () => {
    await assertRefused(HOSTS.staff, MALLORY.member.oid, member, staffUpstreamCount);
  });

  test('staff: a Graph-only email does not link, even to an account that a verified email could link', async () => {
    await assertRefused(HOSTS.staff, MALLORY.graphOnly.oid, invited, staffUpstreamCount);
    assert.ok(
      env.fe.graphRequests.some((r) => r.oid === MALLORY.graphOnly.oid),
      'Graph was asked for the email of a new account',
    );
  });

  test("staff: a guest's #EXT# UPN and Graph mail do not link", async () => {
    await assertRefused(HOSTS.staff, MALLORY.guest.oid, invited, staffUpstreamCount);
  });

  test('staff: a UPN that equals the account email does not link', async () => {
    await assertRefused(HOSTS.staff, MALLORY.upnOnly.oid, invited, staffUpstreamCount);
  });

  test('staff: with linking off, even a verified email does not link', async () => {
    await env.setStaff({ autoLink: false });
    try {
      await assertRefused(HOSTS.staff, HONEST.invited.oid, invited, staffUpstreamCount);
    } finally {
      await env.setStaff({ autoLink: true });
    }
  });

  test('staff: a verified email links an invited account without credentials, once; then tid+oid decide', async () => {
    const pages = await env.browser().signIn(HOSTS.staff, HONEST.invited.oid, '/');
    assert.equal(last(pages).status, 200);
    const linked = await env.gw.store.getUser('staff', invited.id);
    assert.equal(linked?.externalOid, HONEST.invited.oid);
    assert.equal(env.gw.staffUpstream.received.at(-1)?.headers['x-regentra-user-id'], invited.id);
    assert.equal(env.gw.staffUpstream.received.at(-1)?.headers['x-regentra-role'], 'member');
    // the account is now linked: another identity naming the same email is refused
    await assertRefused(HOSTS.staff, MALLORY.graphOnly.oid, (await env.gw.store.getUser('staff', invited.id)) as User, staffUpstreamCount);
  });

  test('staff: an admin links an identity explicitly (CLI rule); the admin signs in with SSO as admin, TOTP not asked', async () => {
    await linkIdentity(env.gw.store, itAdmin, { tid: TENANTS.staff, oid: HONEST.admin.oid }, { actor: 'cli' });
    const pages = await env.browser().signIn(HOSTS.staff, HONEST.admin.oid, '/');
    assert.equal(last(pages).status, 200);
    const echo = env.gw.staffUpstream.received.at(-1);
    assert.equal(echo?.headers['x-regentra-user-id'], itAdmin.id);
    assert.equal(echo?.headers['x-regentra-role'], 'admin');
    const link = (await env.gw.store.listAudit({ realm: 'staff', type: 'user.link' }))[0];
    assert.equal(link?.actor, 'cli');
    assert.equal(link?.details.oid, HONEST.admin.oid);
    // the linked identity, not the email, decides: Mallory's identical email still gets nothing
    await assertRefused(HOSTS.staff, MALLORY.plain.oid, (await env.gw.store.getUser('staff', itAdmin.id)) as User, staffUpstreamCount);
  });

  test('staff: unlinking ends the linked sessions and the identity no longer signs in', async () => {
    const browser = env.browser();
    assert.equal(last(await browser.signIn(HOSTS.staff, HONEST.admin.oid, '/')).status, 200);
    const admin = (await env.gw.store.getUser('staff', itAdmin.id)) as User;
    // sessionsValidAfter is compared with the session's start: let the clock move past it
    await new Promise((r) => setTimeout(r, 5));
    await unlinkIdentity(env.gw.store, admin, { actor: 'cli' });
    env.core.revocation.forget('staff', admin.id);
    const again = await browser.open(`http://${HOSTS.staff}/dashboard`);
    assert.equal(again.status, 302, 'the session ended with the unlink');
    await assertRefused(HOSTS.staff, HONEST.admin.oid, (await env.gw.store.getUser('staff', itAdmin.id)) as User, staffUpstreamCount);
  });

  test('portal: the same email with another oid does not reach a local portal user (with and without xms_edov)', async () => {
    await assertRefused(HOSTS.acme, ACME.mallory.oid, bob, portalUpstreamCount);
    await assertRefused(HOSTS.acme, ACME.malloryEdov.oid, bob, portalUpstreamCount);
  });

  test('portal: a Graph-only email does not link; a verified one links an invited account', async () => {
    const carol = await createLocalUser(env.gw.store, { realm: 'portal:acme', email: 'carol@acme.test', name: 'Carol', password: null, minLength: 12 });
    await assertRefused(HOSTS.acme, ACME.graphOnly.oid, carol, portalUpstreamCount);
    const pages = await env.browser().signIn(HOSTS.acme, ACME.carol.oid, '/');
    assert.equal(last(pages).status, 200);
    assert.equal(env.gw.portalUpstream.received.at(-1)?.headers['x-regentra-user-id'], carol.id);
  });

  test('portal: "only people added or invited by an admin" creates no account for a new identity', async () => {
    await setAcme({ provisioning: 'invited' });
    try {
      // Una is a member of Acme's tenant with no portal account
      const page = (await env.browser().signIn(HOSTS.acme, USERS.upn.oid, '/'))[0];
      assert.equal(page?.status, 403);
      assert.match(page?.body ?? '', /not linked to a Regentra account yet/);
      assert.equal(await env.gw.store.getUserByExternalId('portal:acme', TENANTS.acme, USERS.upn.oid), null, 'nothing created');
      const failure = (await env.gw.store.listAudit({ realm: 'portal:acme', type: 'signin.failure' }))[0];
      assert.equal(failure?.details.code, 'SSO_NOT_PROVISIONED');
    } finally {
      await setAcme({ provisioning: 'tenant' });
    }
  });
});
