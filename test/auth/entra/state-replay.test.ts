// The callback belongs to one attempt in one browser: state is compared before the code
// is redeemed, and a state or code is accepted once (consumeOnce, so a copied flow cookie
// cannot be replayed on another replica either).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, HOSTS, last, startEnv, USERS, type Env } from './support.ts';

describe('state, replay and the flow cookie', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { autoProvision: true } });
  });
  after(() => env.close());

  const flowCookie = 'regentra_session_flow';
  const clone = (b: Browser) => {
    const copy = env.browser();
    for (const [host, cookies] of b.jar) copy.jar.set(host, new Map(cookies));
    return copy;
  };

  test('a replayed callback (same state, copied flow cookie) is refused without redeeming anything', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    const copy = clone(browser);
    assert.equal(last(await browser.follow(callback)).status, 200);
    const tokenCalls = env.fe.tokenRequests.length;
    const page = await copy.open(callback);
    assert.equal(page.status, 400);
    assert.match(page.body, /already been used/);
    assert.equal(env.fe.tokenRequests.length, tokenCalls, 'no token request');
  });

  test('a replayed code with a fresh attempt of its own is refused', async () => {
    const victim = env.browser();
    const callback = await victim.atMicrosoft(await victim.start(HOSTS.staff), USERS.ada.oid);
    assert.equal(last(await victim.follow(callback)).status, 200);
    // an attacker starts their own attempt and pairs its state with the stolen code
    const attacker = env.browser();
    const ownState = (await attacker.start(HOSTS.staff)).searchParams.get('state') ?? '';
    const stolen = new URL(callback);
    stolen.searchParams.set('state', ownState);
    const page = await attacker.open(stolen);
    assert.equal(page.status, 400);
    assert.match(page.body, /already been used/);
    assert.equal((await attacker.open(`http://${HOSTS.staff}/.auth/me`, { headers: { accept: 'application/json' } })).status, 401);
  });

  test('a callback without the flow cookie is refused before any token request', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    const tokenCalls = env.fe.tokenRequests.length;
    const stranger = env.browser();
    const page = await stranger.open(callback);
    assert.equal(page.status, 400);
    assert.match(page.body, /expired or was started in another browser/);
    assert.equal(env.fe.tokenRequests.length, tokenCalls);
    // the real browser can still finish
    assert.equal(last(await browser.follow(callback)).status, 200);
  });

  test('a tampered flow cookie is no flow at all', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    const jar = browser.cookies(HOSTS.staff);
    const value = decodeURIComponent(jar.get(flowCookie) ?? '');
    assert.ok(value.length > 20);
    const i = Math.floor(value.length / 2);
    jar.set(flowCookie, encodeURIComponent(value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1)));
    const page = await browser.open(callback);
    assert.equal(page.status, 400);
    assert.match(page.body, /expired or was started in another browser/);
  });

  test('a callback whose state is not this browser attempt is refused, and the right one still works', async () => {
    const victim = env.browser();
    const victimCallback = await victim.atMicrosoft(await victim.start(HOSTS.staff), USERS.ada.oid);
    const attacker = env.browser();
    const attackerCallback = await attacker.atMicrosoft(await attacker.start(HOSTS.staff), USERS.ken.oid);
    const tokenCalls = env.fe.tokenRequests.length;
    // login CSRF: the attacker's callback opened in the victim's browser
    const page = await victim.open(attackerCallback);
    assert.equal(page.status, 400);
    assert.match(page.body, /does not belong to the sign-in started in this browser/);
    assert.equal(env.fe.tokenRequests.length, tokenCalls);
    assert.equal(last(await victim.follow(victimCallback)).status, 200);
    assert.equal(env.gw.staffUpstream.received.at(-1)?.headers['x-regentra-email'], 'ada@staff.test');
  });

  test('starting again replaces the attempt: the first callback no longer matches', async () => {
    const browser = env.browser();
    const first = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    await browser.start(HOSTS.staff);
    const page = await browser.open(first);
    assert.equal(page.status, 400);
  });

  test('malformed callbacks are refused', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    const code = callback.searchParams.get('code') ?? '';
    const state = callback.searchParams.get('state') ?? '';
    for (const query of [`code=${code}&code=${code}&state=${state}`, `state=${state}`, `code=${code}`, '', `code=${code}&state=${'x'.repeat(5000)}`]) {
      const page = await browser.open(`http://${HOSTS.staff}/.auth/callback?${query}`);
      assert.equal(page.status, 400, query.slice(0, 40));
    }
    // none of that consumed the attempt
    assert.equal(last(await browser.follow(callback)).status, 200);
  });

  test('a HEAD request (link preview, scanner) does not consume the attempt', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    const head = await browser.open(callback, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(last(await browser.follow(callback)).status, 200);
  });

  test('API clients get JSON with a stable code', async () => {
    const res = await env.gw.request(HOSTS.staff, '/.auth/callback?code=abc&state=def', { headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 400);
    const body = (await res.body.json()) as { error: string; requestId: string };
    assert.equal(body.error, 'sso_flow_missing');
    assert.equal(body.requestId, res.headers['x-request-id']);
  });
});
