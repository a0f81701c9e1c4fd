// When the ID token has no `email`, the address comes from Graph GET /v1.0/me (`mail`,
// else `userPrincipalName`) with the access token — and only then.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, last, startEnv, TENANTS, USERS, type Env } from './support.ts';

describe('email from Microsoft Graph', () => {
  let env: Env;
  let graphBroken = false;
  before(async () => {
    env = await startEnv({
      staff: { autoProvision: true },
      fetch: (input, init) => {
        if (graphBroken && String(input).includes('/graph/')) return Promise.reject(new TypeError('fetch failed'));
        return fetch(input, init);
      },
    });
  });
  after(() => env.close());

  test('an ID token with email: Graph is not called', async () => {
    const before = env.fe.graphRequests.length;
    assert.equal(last(await env.browser().signIn(HOSTS.staff, USERS.ada.oid)).status, 200);
    assert.equal(env.fe.graphRequests.length, before);
  });

  test('Graph fails while the address is needed: a clear page, no account', async () => {
    graphBroken = true;
    try {
      const pages = await env.browser().signIn(HOSTS.staff, USERS.grace.oid);
      assert.equal(pages[0]?.status, 503);
      assert.match(pages[0]?.body ?? '', /could not reach Microsoft/);
      assert.equal(await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.grace.oid), null);
    } finally {
      graphBroken = false;
    }
  });

  test('no email claim: Graph mail is used to provision the staff member', async () => {
    const before = env.fe.graphRequests.length;
    assert.equal(last(await env.browser().signIn(HOSTS.staff, USERS.grace.oid)).status, 200);
    const grace = await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.grace.oid);
    assert.equal(grace?.email, 'grace.hopper@staff.test');
    const call = env.fe.graphRequests.at(-1);
    assert.equal(env.fe.graphRequests.length, before + 1);
    assert.deepEqual(call, { path: '/v1.0/me', status: 200, tenant: TENANTS.staff, oid: USERS.grace.oid });
  });

  test('bound users are found by tid+oid: Graph is not needed again', async () => {
    const before = env.fe.graphRequests.length;
    assert.equal(last(await env.browser().signIn(HOSTS.staff, USERS.grace.oid)).status, 200);
    assert.equal(env.fe.graphRequests.length, before);
  });

  test('no email and no mail: the userPrincipalName is used (portal)', async () => {
    assert.equal(last(await env.browser().signIn(HOSTS.acme, USERS.upn.oid)).status, 200);
    const una = await env.gw.store.getUserByExternalId('portal:acme', TENANTS.acme, USERS.upn.oid);
    assert.equal(una?.email, 'una@acme.onmicrosoft.test');
    assert.equal(env.gw.portalUpstream.received.at(-1)?.headers['x-regentra-email'], 'una@acme.onmicrosoft.test');
  });

  test('an existing account is never linked through the Graph address (unverified): the person is told to ask an admin', async () => {
    const existing = await env.gw.store.createUser({ realm: 'portal:acme', email: 'alice@acme.test', displayName: 'Alice', role: 'member' });
    env.fe.overrideNextIdToken((c) => ({ claims: { ...c, email: undefined } }));
    const pages = await env.browser().signIn(HOSTS.acme, USERS.alice.oid);
    assert.equal(pages[0]?.status, 403);
    assert.match(pages[0]?.body ?? '', /not linked to a Regentra account yet/);
    const alice = await env.gw.store.getUser('portal:acme', existing.id);
    assert.equal(alice?.externalOid, null);
  });
});
