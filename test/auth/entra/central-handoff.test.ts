// Portal sign-in through the central callback host: one redirect URI for all clients;
// the attempt rides in a sealed state; the central host hands the browser back to the
// client's host with a one-time ticket (≤ 60 s) bound to that host, realm and browser.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, HOSTS, last, startEnv, TENANTS, USERS, type Env } from './support.ts';

describe('central callback host and hand-off tickets', () => {
  let env: Env;
  let offsetMs = 0;
  before(async () => {
    env = await startEnv({ central: true, now: () => Date.now() + offsetMs });
  });
  after(() => env.close());

  const clone = (b: Browser) => {
    const copy = env.browser();
    for (const [host, cookies] of b.jar) copy.jar.set(host, new Map(cookies));
    return copy;
  };

  /** sign in on acme up to the hand-off URL (not opened) */
  async function toHandoff(browser: Browser, host: string = HOSTS.acme) {
    const authorize = await browser.start(host, '/tickets');
    const central = await browser.open(await browser.atMicrosoft(authorize, USERS.alice.oid));
    assert.equal(central.status, 303, central.body.slice(0, 300));
    const handoff = central.location;
    assert.ok(handoff !== null && handoff.startsWith(`http://${host}/.auth/handoff?ticket=`), String(handoff));
    return { authorize, central, handoff };
  }

  test('end to end: Entra → central host → ticket → the client host has its own session', async () => {
    const browser = env.browser();
    const { authorize, central, handoff } = await toHandoff(browser);
    assert.equal(authorize.pathname, `/${TENANTS.acme}/oauth2/v2.0/authorize`);
    assert.equal(authorize.searchParams.get('redirect_uri'), `http://${HOSTS.central}/.auth/callback`);
    assert.match(authorize.searchParams.get('state') ?? '', /^v1\./, 'sealed state');
    assert.equal(env.fe.tokenRequests.at(-1)?.params.redirect_uri, `http://${HOSTS.central}/.auth/callback`);
    assert.ok(!String(central.headers['set-cookie'] ?? '').includes('regentra_session='), 'no session on the central host');

    const pages = await browser.follow(handoff);
    assert.equal(pages[0]?.status, 303);
    assert.equal(pages[0]?.location, `http://${HOSTS.acme}/tickets`);
    assert.equal(last(pages).status, 200);
    const echo = env.gw.portalUpstream.received.at(-1);
    assert.equal(echo?.headers['x-regentra-client'], 'acme');
    assert.match(String(echo?.headers['x-regentra-auth-method']), /^sso/);
    const user = await env.gw.store.getUserByExternalId('portal:acme', TENANTS.acme, USERS.alice.oid);
    assert.equal(echo?.headers['x-regentra-user-id'], user?.id);
  });

  test('a ticket is used once: replay (even with a copy of the browser cookies) fails', async () => {
    const browser = env.browser();
    const { handoff } = await toHandoff(browser);
    const copy = clone(browser);
    assert.equal(last(await browser.follow(handoff)).status, 200);
    const replay = await copy.open(handoff);
    assert.equal(replay.status, 400);
    assert.match(replay.body, /already used/);
    assert.equal((await browser.open(handoff)).status, 400);
  });

  test('a ticket for one host does not open another host (same client or another client)', async () => {
    const browser = env.browser();
    const { handoff } = await toHandoff(browser);
    const ticket = new URL(handoff).searchParams.get('ticket') ?? '';
    for (const host of [HOSTS.acmeCustom, HOSTS.globex, HOSTS.staff]) {
      // even with the acme flow cookie copied to that host
      browser.jar.set(host, new Map(browser.cookies(HOSTS.acme)));
      const page = await browser.open(`http://${host}/.auth/handoff?ticket=${encodeURIComponent(ticket)}`);
      assert.equal(page.status, 400, host);
      assert.ok(!String(page.headers['set-cookie'] ?? '').includes('regentra_session='), host);
    }
    assert.equal(last(await browser.follow(handoff)).status, 200, 'still good on its own host');
  });

  test('a ticket only works in the browser that started the sign-in', async () => {
    const { handoff } = await toHandoff(env.browser());
    const page = await env.browser().open(handoff);
    assert.equal(page.status, 400);
  });

  test('a ticket expires after 60 seconds', async () => {
    const browser = env.browser();
    const { handoff } = await toHandoff(browser);
    offsetMs = 61_000;
    try {
      const page = await browser.open(handoff);
      assert.equal(page.status, 400);
      assert.match(page.body, /expired/);
    } finally {
      offsetMs = 0;
    }
  });

  test('a tampered or foreign ticket is refused', async () => {
    const browser = env.browser();
    const { handoff } = await toHandoff(browser);
    const url = new URL(handoff);
    const ticket = url.searchParams.get('ticket') ?? '';
    url.searchParams.set('ticket', `${ticket.slice(0, -4)}AAAA`);
    assert.equal((await browser.open(url)).status, 400);
    url.searchParams.set('ticket', 'v1.k1.AAAA.BBBB');
    assert.equal((await browser.open(url)).status, 400);
  });

  test('the central callback refuses a tampered state and a replayed one', async () => {
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.acme);
    const callback = await browser.atMicrosoft(authorize, USERS.alice.oid);
    const tampered = new URL(callback);
    const state = tampered.searchParams.get('state') ?? '';
    tampered.searchParams.set('state', `${state.slice(0, -3)}xyz`);
    const tokenCalls = env.fe.tokenRequests.length;
    assert.equal((await browser.open(tampered)).status, 400);
    assert.equal(env.fe.tokenRequests.length, tokenCalls, 'nothing redeemed');
    assert.equal((await browser.open(callback)).status, 303);
    const replay = await browser.open(callback);
    assert.equal(replay.status, 400);
    assert.match(replay.body, /already been used/);
  });

  test('staff sign-in is not routed through the central host', async () => {
    await env.gw.store.createUser({
      realm: 'staff',
      email: 'ada@staff.test',
      displayName: 'Ada',
      role: 'admin',
      externalTid: TENANTS.staff,
      externalOid: USERS.ada.oid,
    });
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.staff);
    assert.equal(authorize.searchParams.get('redirect_uri'), `http://${HOSTS.staff}/.auth/callback`);
    assert.equal(last(await browser.follow(await browser.atMicrosoft(authorize, USERS.ada.oid))).status, 200);
  });
});
