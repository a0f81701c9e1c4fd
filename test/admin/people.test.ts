// Settings → People over HTTP: list, search, pages; adding a person with a one-time set-up
// link (72 h, single use, host-bound, hashed, never logged); per-account actions with a
// confirmation step, audited, with the last-admin rule.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestGateway } from '../support/gateway.ts';
import { Browser, HOSTS, csrfOf, staffAdmin, startAdminGateway, unescapeHtml } from './helpers.ts';
import { hashPassword, verifyPassword } from '../../src/auth/password/hash.ts';
import { issueSetupLink, SETUP_LINK_TTL_MS } from '../../src/auth/password/setup-link.ts';
import { AccountError, setStatus } from '../../src/auth/password/users.ts';
import { redactCredentials } from '../../src/ops/redact-url.ts';
import { Client } from '../auth/password/flow.ts';

const PEOPLE = '/.auth/admin/people/staff';
const ACME_PEOPLE = '/.auth/admin/people/portal/acme';

let gw: TestGateway;
let admin: Browser;
let adminId: string;

before(async () => {
  gw = await startAdminGateway({ transport: 'inject' });
  const a = await staffAdmin(gw);
  adminId = a.uid;
  // this admin can reach the settings with a password
  await gw.store.updateUser('staff', a.uid, { passwordHash: await hashPassword('admin-password-long-enough') });
  admin = new Browser(gw, HOSTS.staff, a.cookie);
});
after(() => gw.close());

function linkOf(body: string): string {
  const m = /id="setup-link" type="text" readonly value="([^"]+)"/.exec(body);
  assert.ok(m, 'the page shows the set-up link');
  return unescapeHtml(m[1] as string);
}

async function addPerson(path: string, fields: Record<string, string>): Promise<{ status: number; link: string | null; body: string }> {
  const page = await admin.get(`${path}/new`);
  assert.equal(page.status, 200);
  const res = await admin.send('POST', `${path}/new`, { form: { csrf: csrfOf(page.body), ...fields } });
  return { status: res.status, link: res.status === 201 ? linkOf(res.body) : null, body: res.body };
}

async function confirmAction(
  path: string,
  action: string,
  extra: Record<string, string> = {},
): Promise<{ first: string; status: number; location: string | null; body: string }> {
  const page = await admin.get(path);
  const first = await admin.send('POST', path, { form: { csrf: csrfOf(page.body), action, ...extra } });
  assert.equal(first.status, 200, `confirmation page for ${action}`);
  const done = await admin.send('POST', path, { form: { csrf: csrfOf(first.body), action, confirm: 'yes', ...extra } });
  return { first: first.body, status: done.status, location: done.location, body: done.body };
}

test('lists accounts with role, methods, MFA, last sign-in and status; search and pages', async () => {
  for (let i = 0; i < 30; i++)
    await gw.store.createUser({ realm: 'staff', email: `bulk${String(i).padStart(2, '0')}@regentra.test`, displayName: `Bulk ${i}`, role: 'member' });
  const ann = await gw.store.createUser({
    realm: 'staff',
    email: 'ann.lister@regentra.test',
    displayName: 'Ann Lister',
    role: 'member',
    passwordHash: 'x',
    externalTid: '11111111-1111-4111-8111-111111111111',
    externalOid: 'aaaaaaaa-1111-4111-8111-111111111111',
  });
  await gw.core.auditor.record({
    type: 'signin',
    outcome: 'success',
    realm: 'staff',
    userId: ann.id,
    actor: ann.id,
    ip: '127.0.0.1',
    details: { method: 'sso' },
  });

  const first = await admin.get(PEOPLE);
  assert.equal(first.status, 200);
  assert.match(first.body, /Settings → People → Staff/);
  assert.match(first.body, /aria-current="page">Staff accounts</);
  assert.match(first.body, /Page 1 of 2/);
  assert.equal([...first.body.matchAll(/<tr>\n<td><a href=/g)].length, 25);
  const second = await admin.get(`${PEOPLE}?page=2`);
  assert.match(second.body, /Page 2 of 2/);

  const search = await admin.get(`${PEOPLE}?q=LISTER`);
  const rows = [...search.body.matchAll(/<tr>\n<td>[\s\S]*?<\/tr>/g)].map((m) => m[0]);
  assert.equal(rows.length, 1);
  assert.match(rows[0]!, /Ann Lister/);
  assert.match(rows[0]!, />Password</);
  assert.match(rows[0]!, />Microsoft</);
  assert.match(rows[0]!, /Not set up/);
  assert.match(rows[0]!, /\d{4}-\d\d-\d\d \d\d:\d\d UTC<br><span class="hint">Microsoft/);
  assert.match(rows[0]!, />Active</);
  assert.match((await admin.get(`${PEOPLE}?q=nobody-here`)).body, /No account matches this search/);
  assert.equal((await admin.get(`${PEOPLE}?page=999`)).status, 200);
});

test('realm switcher: the portal of each client, via the people home and the sidebar switcher', async () => {
  const to = await admin.get('/.auth/admin/people/?realm=portal%3Aacme');
  assert.equal(to.status, 303);
  assert.equal(to.location, ACME_PEOPLE);
  const page = await admin.get(ACME_PEOPLE);
  assert.equal(page.status, 200);
  assert.match(page.body, /name="to" value="people"/);
  assert.equal((await admin.get('/.auth/admin/portal/switch?client=globex&to=people')).location, '/.auth/admin/people/portal/globex');
  assert.equal((await admin.get('/.auth/admin/people/portal/nope')).status, 404);
});

test('adding a person gives a one-time link for the staff host; it sets a password and continues to the authenticator', async () => {
  const added = await addPerson(PEOPLE, { email: 'New.Person@Regentra.test', name: 'New Person', role: 'member' });
  assert.equal(added.status, 201);
  const url = new URL(added.link!);
  assert.equal(url.host, HOSTS.staff);
  assert.equal(url.pathname, '/.auth/setup');
  const token = url.searchParams.get('token')!;
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.doesNotMatch(added.body, /type="password"|temporary password:/i);
  const user = (await gw.store.getUserByEmail('staff', 'new.person@regentra.test'))!;
  assert.equal(user.passwordHash, null, 'no password is ever made for them');

  // the token is stored hashed only, and never in the audit log
  const settings = JSON.stringify(await gw.store.listSettings('account.setup'));
  assert.ok(!settings.includes(token), 'the store keeps no clear token');
  assert.ok(!JSON.stringify(await gw.store.listAudit({ limit: 1000 })).includes(token), 'the audit log never holds the token');
  assert.ok(!redactCredentials(`${url.pathname}${url.search}`).includes(token), 'the access log redacts it');

  // on a portal host the staff link is no link
  const elsewhere = new Client(gw, HOSTS.acme);
  assert.equal((await elsewhere.get(`/.auth/setup?token=${token}`)).status, 404);

  const person = new Client(gw, HOSTS.staff);
  // opening it changes nothing (link previews)
  assert.equal((await person.get(`/.auth/setup?token=${token}`)).status, 200);
  const form = await person.get(`/.auth/setup?token=${token}`);
  assert.equal(form.status, 200);
  assert.match(form.body, /new\.person@regentra\.test/);
  // a refused password does not use the link up
  const weak = await person.post('/.auth/setup', { csrf: csrfOf(form.body), token, password: 'password123456', confirm: 'password123456' });
  assert.equal(weak.status, 400);
  assert.match(weak.body, /too common/);
  const mismatch = await person.post('/.auth/setup', { csrf: csrfOf(form.body), token, password: 'a-long-enough-passphrase', confirm: 'another-passphrase-x' });
  assert.equal(mismatch.status, 400);
  const set = await person.post('/.auth/setup', {
    csrf: csrfOf(form.body),
    token,
    password: 'plum-orbit-seventeen-lakes',
    confirm: 'plum-orbit-seventeen-lakes',
  });
  assert.equal(set.status, 303);
  assert.equal(set.location, '/.auth/login/enroll');
  const enrol = await person.get('/.auth/login/enroll');
  assert.equal(enrol.status, 200);
  assert.match(enrol.body, /Set up two-step verification/);
  const stored = (await gw.store.getUser('staff', user.id))!;
  assert.ok(await verifyPassword('plum-orbit-seventeen-lakes', stored.passwordHash));

  // used once: a second use (even with a fresh page) is refused
  const again = new Client(gw, HOSTS.staff);
  const used = await again.get(`/.auth/setup?token=${token}`);
  assert.equal(used.status, 410);
  assert.match(used.body, /already used/);
  const types = (await gw.store.listAudit({ person: user.id, limit: 20 })).map((e) => e.type);
  for (const t of ['user.create', 'user.setup-link', 'user.password.reset', 'user.setup']) assert.ok(types.includes(t), `audited ${t}`);
});

test('a portal link works on that client’s hosts only; expired and replaced links are refused', async () => {
  const added = await addPerson(ACME_PEOPLE, { email: 'pat@acme.test', name: 'Pat Portal' });
  assert.equal(added.status, 201);
  const url = new URL(added.link!);
  assert.equal(url.host, HOSTS.acme);
  const path = `${url.pathname}${url.search}`;
  assert.equal((await new Client(gw, HOSTS.staff).get(path)).status, 404);
  assert.equal((await new Client(gw, HOSTS.globex).get(path)).status, 404);
  assert.equal((await new Client(gw, HOSTS.acmeCustom).get(path)).status, 200, 'any of the client’s hosts');
  assert.equal((await new Client(gw, HOSTS.acme).get(path)).status, 200);

  const pat = (await gw.store.getUserByEmail('portal:acme', 'pat@acme.test'))!;
  const newer = await issueSetupLink(gw.store, gw.config, pat, { reason: 'reset', actor: 'test' });
  const replaced = await new Client(gw, HOSTS.acme).get(path);
  assert.equal(replaced.status, 410);
  assert.match(replaced.body, /replaced/);
  assert.equal((await new Client(gw, HOSTS.acme).get(new URL(newer.url).pathname + new URL(newer.url).search)).status, 200);

  const old = await issueSetupLink(gw.store, gw.config, pat, { reason: 'reset', actor: 'test', now: () => Date.now() - SETUP_LINK_TTL_MS - 1000 });
  const expired = await new Client(gw, HOSTS.acme).get(new URL(old.url).pathname + new URL(old.url).search);
  assert.equal(expired.status, 410);
  assert.match(expired.body, /expired/);
  assert.equal((await new Client(gw, HOSTS.acme).get('/.auth/setup?token=not-a-token')).status, 404);
});

test('adding refuses a bad or duplicate email with the field marked', async () => {
  const bad = await addPerson(PEOPLE, { email: 'not-an-email', name: 'X', role: 'member' });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /aria-invalid="true" aria-describedby="email-error"/);
  const dup = await addPerson(PEOPLE, { email: 'NEW.person@regentra.test', name: 'Again', role: 'member' });
  assert.equal(dup.status, 409);
  assert.match(dup.body, /already has an account/);
});

test('each action asks for confirmation, then is done, audited with the admin as actor', async () => {
  const bob = await gw.store.createUser({
    realm: 'staff',
    email: 'bob@regentra.test',
    displayName: 'Bob',
    role: 'member',
    passwordHash: await hashPassword('bob-password-long-enough'),
  });
  const path = `${PEOPLE}/accounts/${bob.id}`;
  const page = await admin.get(path);
  assert.equal(page.status, 200);
  // without confirm=yes nothing changes
  const first = await admin.send('POST', path, { form: { csrf: csrfOf(page.body), action: 'disable' } });
  assert.equal(first.status, 200);
  assert.match(first.body, /Disable this account\?/);
  assert.equal((await gw.store.getUser('staff', bob.id))!.status, 'active');
  // without the CSRF token: refused
  assert.equal((await admin.send('POST', path, { form: { action: 'disable', confirm: 'yes' } })).status, 403);
  const done = await admin.send('POST', path, { form: { csrf: csrfOf(first.body), action: 'disable', confirm: 'yes' } });
  assert.equal(done.status, 303);
  assert.equal(done.location, `${path}?done=disable`);
  assert.equal((await gw.store.getUser('staff', bob.id))!.status, 'disabled');
  const [event] = await gw.store.listAudit({ type: 'user.disable', person: bob.id, limit: 1 });
  assert.equal(event?.actor, adminId);

  assert.equal((await confirmAction(path, 'enable')).status, 303);
  assert.equal((await confirmAction(path, 'make-admin')).status, 303);
  assert.equal((await gw.store.getUser('staff', bob.id))!.role, 'admin');
  assert.equal((await confirmAction(path, 'sign-out')).status, 303);
  assert.ok((await gw.store.getUser('staff', bob.id))!.sessionsValidAfter > 0);

  // link a Microsoft identity: GUIDs checked, then the confirmation shows them
  const badLink = await admin.send('POST', path, { form: { csrf: csrfOf((await admin.get(path)).body), action: 'link', tid: 'nope', oid: 'x' } });
  assert.equal(badLink.status, 400);
  assert.match(badLink.body, /must be a GUID/);
  const tid = '11111111-1111-4111-8111-111111111111';
  const oid = 'BBBBBBBB-1111-4111-8111-111111111111';
  const linked = await confirmAction(path, 'link', { tid, oid });
  assert.match(linked.first, /Link this Microsoft account\?/);
  assert.equal(linked.status, 303);
  assert.equal((await gw.store.getUser('staff', bob.id))!.externalOid, oid.toLowerCase());
  assert.equal((await confirmAction(path, 'unlink')).status, 303);
  assert.equal((await gw.store.getUser('staff', bob.id))!.externalOid, null);

  // a new set-up link for an existing account: shown once; the old password still works until the new one is set
  const reset = await confirmAction(path, 'setup-link');
  assert.equal(reset.status, 200);
  assert.match(reset.body, /current password keeps working/);
  assert.ok(await verifyPassword('bob-password-long-enough', (await gw.store.getUser('staff', bob.id))!.passwordHash));

  // an action that does not apply (unlock an account that is not locked)
  const page2 = await admin.get(path);
  assert.equal((await admin.send('POST', path, { form: { csrf: csrfOf(page2.body), action: 'unlock', confirm: 'yes' } })).status, 409);
});

test('the last admin who can reach the settings cannot be disabled, demoted or unlinked (pages and the shared functions)', async () => {
  // only the test admin reaches the settings: demote every other admin made above
  for (const u of await gw.store.listUsers('staff')) if (u.id !== adminId && u.role === 'admin') await gw.store.updateUser('staff', u.id, { role: 'member' });
  const self = `${PEOPLE}/accounts/${adminId}`;
  const demote = await confirmAction(self, 'make-member');
  assert.equal(demote.status, 409);
  assert.match(demote.body, /last admin who can reach the settings/);
  const disable = await confirmAction(self, 'disable');
  assert.equal(disable.status, 409);
  assert.equal((await gw.store.getUser('staff', adminId))!.role, 'admin');
  const [refusal] = await gw.store.listAudit({ type: 'user.disable', limit: 1 });
  assert.equal(refusal?.outcome, 'failure');
  // the CLI's functions refuse the same
  const me = (await gw.store.getUser('staff', adminId))!;
  await assert.rejects(setStatus(gw.store, me, 'disabled', { actor: 'cli' }), (err: unknown) => err instanceof AccountError && err.code === 'LAST_ADMIN');
  // an admin without a usable sign-in method does not count: another admin with a password does
  const other = await gw.store.createUser({
    realm: 'staff',
    email: 'second-admin@regentra.test',
    displayName: 'Second',
    role: 'admin',
    passwordHash: await hashPassword('second-admin-password'),
  });
  assert.ok(other);
  assert.equal((await setStatus(gw.store, me, 'disabled', { actor: 'cli' })).status, 'disabled');
  await gw.store.updateUser('staff', adminId, { status: 'active' });
});

test('members and other realms cannot open People', async () => {
  const member = await staffAdmin(gw, { role: 'member' });
  assert.equal((await new Browser(gw, HOSTS.staff, member.cookie).get(PEOPLE)).status, 403);
  assert.equal((await new Browser(gw, HOSTS.acme).get(PEOPLE)).status, 404);
});
