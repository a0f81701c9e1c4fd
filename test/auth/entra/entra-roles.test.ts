// Roles from Entra (#16 §4): the staff role from the staff app's app roles or from groups,
// applied at each sign-in and audited; a hand-made change refused while the mapping is on;
// groups overage refused (fail closed); a portal client's app roles reach the portal app in
// the identity JWT and X-Regentra-Roles — and a client's own X-Regentra-Roles never does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertErrorPage, HOSTS, last, PORTAL_APP, STAFF_APP, startEnv, TENANTS, USERS, type Env } from './support.ts';
import { verifyIdentity } from '../../../src/identity/verify.ts';
import { AccountError, setRole } from '../../../src/auth/password/users.ts';

const ADMIN_GROUP = '0a0a0a0a-1111-4222-8333-999999999999';
const boss = {
  oid: 'a7a7a7a7-0000-4000-8000-0000000000a7',
  name: 'Barbara Boss',
  preferredUsername: 'boss@staff.test',
  email: 'boss@staff.test',
  appRoles: { [STAFF_APP.clientId]: ['Regentra.Admin'] },
  groups: [ADMIN_GROUP],
};
const crew = {
  oid: 'a8a8a8a8-0000-4000-8000-0000000000a8',
  name: 'Carl Crew',
  preferredUsername: 'crew@staff.test',
  email: 'crew@staff.test',
  appRoles: { [STAFF_APP.clientId]: ['Regentra.Reader'] },
  groups: [],
};
const many = {
  oid: 'a9a9a9a9-0000-4000-8000-0000000000a9',
  name: 'Mona Many',
  preferredUsername: 'many@staff.test',
  email: 'many@staff.test',
  groupsOverage: true,
};
const agent = {
  oid: 'aaaaaaaa-0000-4000-8000-0000000000aa',
  name: 'Agnes Agent',
  preferredUsername: 'agnes@acme.test',
  email: 'agnes@acme.test',
  appRoles: { [PORTAL_APP.clientId]: ['Tickets.Approve', 'Tickets.Read'] },
};

describe('roles from Entra', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({
      staff: { autoProvision: true, roleMapping: { source: 'roles', values: ['Regentra.Admin'] } },
      extraUsers: { staff: [boss, crew, many], acme: [agent] },
    });
  });
  after(() => env.close());

  const staffUser = (oid: string) => env.gw.store.getUserByExternalId('staff', TENANTS.staff, oid);

  test('app roles: the role comes from the token at each sign-in, and a change is audited', async () => {
    assert.equal(last(await env.browser().signIn(HOSTS.staff, boss.oid)).status, 200);
    assert.equal((await staffUser(boss.oid))?.role, 'admin');
    assert.equal(last(await env.browser().signIn(HOSTS.staff, crew.oid)).status, 200);
    assert.equal((await staffUser(crew.oid))?.role, 'member');
    const audit = await env.gw.store.listAudit({ type: 'user.role', limit: 10 });
    const change = audit.find((e) => e.actor === 'entra');
    assert.ok(change, 'the promotion is audited with actor entra');
    assert.deepEqual(
      [(change.details as { from: string }).from, (change.details as { to: string }).to, (change.details as { source: string }).source],
      ['member', 'admin', 'entra app roles'],
    );

    // the role assignment is removed in Azure: the next sign-in demotes, and the admin's other session ends
    const first = env.browser();
    assert.equal(last(await first.signIn(HOSTS.staff, boss.oid)).status, 200);
    boss.appRoles[STAFF_APP.clientId] = [];
    try {
      assert.equal(last(await env.browser().signIn(HOSTS.staff, boss.oid)).status, 200);
      assert.equal((await staffUser(boss.oid))?.role, 'member');
      assert.notEqual((await first.open(`http://${HOSTS.staff}/dashboard`)).status, 200, 'the session that carried the admin role is over');
    } finally {
      boss.appRoles[STAFF_APP.clientId] = ['Regentra.Admin'];
    }
  });

  test('while the mapping is on, the role of a Microsoft-linked account cannot be changed by hand', async () => {
    const user = await staffUser(crew.oid);
    assert.ok(user);
    await assert.rejects(
      setRole(env.gw.store, user, 'admin'),
      (e: unknown) =>
        e instanceof AccountError && e.code === 'ROLE_FROM_ENTRA' && /comes from Microsoft Entra/.test(e.message) && /app role assignment/.test(e.message),
    );
    // a password-only account is still managed by hand
    const local = await env.gw.store.createUser({ realm: 'staff', email: 'local@staff.test', displayName: 'Local', role: 'member' });
    assert.equal((await setRole(env.gw.store, local, 'admin')).role, 'admin');
  });

  test('groups: membership of an admin group makes an admin; groups overage refuses the sign-in with an explanation', async () => {
    await env.setStaff({ roleMapping: { source: 'groups', values: [ADMIN_GROUP] } });
    assert.equal(last(await env.browser().signIn(HOSTS.staff, boss.oid)).status, 200);
    assert.equal((await staffUser(boss.oid))?.role, 'admin');
    const refused = last(await env.browser().signIn(HOSTS.staff, many.oid));
    assertErrorPage(refused, 403, /too many groups/);
    assert.match(refused.body, /app roles/);
    assert.equal(await staffUser(many.oid), null, 'no account was made');
    const event = (await env.gw.store.listAudit({ realm: 'staff', limit: 5 })).find((e) => e.outcome === 'failure');
    assert.match(JSON.stringify(event?.details ?? {}), /SSO_GROUPS_OVERAGE/);
  });

  test("portal: the client's app roles reach the portal app (JWT roles claim, X-Regentra-Roles); an inbound one is stripped", async () => {
    const b = env.browser();
    assert.equal(last(await b.signIn(HOSTS.acme, agent.oid, '/')).status, 200);
    await b.open(`http://${HOSTS.acme}/tickets`, { headers: { 'x-regentra-roles': 'Global.Admin', X_Regentra_Roles: 'Global.Admin' } });
    const echo = env.gw.portalUpstream.received.at(-1);
    assert.ok(echo);
    assert.equal(echo.headers['x-regentra-roles'], 'Tickets.Approve Tickets.Read');
    assert.ok(!JSON.stringify(echo.headers).includes('Global.Admin'), 'the client cannot send roles');
    const id = await verifyIdentity(echo.headers, { keys: JSON.parse(env.core.jwks.body), audience: 'portal', issuer: 'https://gateway.test' });
    assert.deepEqual(id.roles, ['Tickets.Approve', 'Tickets.Read']);
    // a person without app roles: no header, no claim
    const plain = env.browser();
    assert.equal(last(await plain.signIn(HOSTS.acme, USERS.alice.oid, '/')).status, 200);
    const echo2 = env.gw.portalUpstream.received.at(-1);
    assert.equal(echo2?.headers['x-regentra-roles'], undefined);
  });
});
