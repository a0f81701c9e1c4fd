// What the gateway asks Microsoft for, as its documentation says a web app should, against
// the strict stand-in (one browser session at "Microsoft" across sign-ins):
// - every URI it sends is in the one redirect-URI list an admin registers (registeredRedirectUris);
// - prompt=select_account by default, so a browser signed in to another organisation is
//   not silently used (AADSTS50020 at Microsoft); entra.prompt login / none;
// - login_hint for a known SSO user (session current or timed out), never from the query;
// - domain_hint for a portal client whose verified domain is configured;
// - tokens of the personal-accounts tenant are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeEntraPageError } from '../../../dev/fake-entra/index.ts';
import { HOSTS, last, PORTAL_APP, startEnv, STAFF_APP, TENANTS, USERS, type Browser, type Env } from './support.ts';
import { CONSUMER_TENANT_ID, registeredRedirectUris } from '../../../src/auth/entra/index.ts';
import { loadConfigObject } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema.ts';

const withPortal = (config: Config, patch: Record<string, unknown>): Config => ({
  ...config,
  sites: { ...config.sites, portal: { ...config.sites.portal!, ...patch } },
});

const me = async (browser: Browser, host: string) => browser.open(`http://${host}/.auth/me`, { headers: { accept: 'application/json' } });

describe('the redirect URIs to register, in one place', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { autoProvision: true } });
  });
  after(() => env.close());

  test('staff: callback and signed-out page; portal: callbacks, signed-out pages, the consent callback; wildcards named', () => {
    const list = registeredRedirectUris(env.gw.config);
    assert.deepEqual(list.staff.uris, [`http://${HOSTS.staff}/.auth/callback`, `http://${HOSTS.staff}/.auth/signed-out`]);
    assert.deepEqual(list.staff.wildcardHosts, []);
    const portal = list.portal;
    assert.ok(portal);
    for (const host of [HOSTS.acme, HOSTS.acmeCustom, HOSTS.globex]) {
      assert.ok(portal.uris.includes(`http://${host}/.auth/callback`), host);
      assert.ok(portal.uris.includes(`http://${host}/.auth/signed-out`), host);
    }
    assert.ok(portal.uris.includes(`http://${HOSTS.staff}/.auth/consent/callback`));
    assert.ok(portal.wildcardHosts.length > 0 && portal.wildcardHosts.every((h) => h.startsWith('*.')));
    assert.ok(
      portal.uris.every((u) => !u.includes('*')),
      'no wildcard URI',
    );
    // with a central callback host: one callback, still a signed-out page per portal host
    const central = registeredRedirectUris(withPortal(env.gw.config, { centralCallbackHost: HOSTS.central })).portal!;
    assert.deepEqual(
      central.uris.filter((u) => u.endsWith('/.auth/callback')),
      [`http://${HOSTS.central}/.auth/callback`],
    );
    assert.ok(central.uris.includes(`http://${HOSTS.acme}/.auth/signed-out`));
    // the front-channel logout URL: one per app, on a host that accepts every tenant of the app
    assert.equal(list.staff.frontChannelLogoutUrl, `http://${HOSTS.staff}/.auth/frontchannel-logout`);
    assert.equal(portal.frontChannelLogoutUrl, null, 'no single portal host serves every client');
    assert.equal(central.frontChannelLogoutUrl, `http://${HOSTS.central}/.auth/frontchannel-logout`);
  });

  test('a URI missing from the app registration stops the person at Microsoft (AADSTS50011): sign-out too', async () => {
    // the stand-in refuses what its app does not list — here the staff app without its signed-out URI
    const browser = env.browser();
    await browser.signIn(HOSTS.staff, USERS.ada.oid);
    const out = await browser.open(`http://${HOSTS.staff}/.auth/logout`, { method: 'POST', headers: { origin: `http://${HOSTS.staff}` } });
    const target = new URL(out.location ?? '');
    target.searchParams.set('post_logout_redirect_uri', `http://${HOSTS.acme}/.auth/signed-out`);
    await assert.rejects(env.fe.follow(target, { browser: browser.microsoft }), /AADSTS50011/);
  });
});

describe('prompt, login_hint and domain_hint', () => {
  let env: Env;
  let clock = Date.now();
  before(async () => {
    env = await startEnv({
      staff: { autoProvision: true },
      now: () => clock,
      configure: (raw) => {
        const sites = raw.sites as { portal: { clients: Array<Record<string, unknown>> } };
        sites.portal.clients = sites.portal.clients.map((c) => (c.id === 'acme' ? { ...c, domainHint: 'Acme.Test' } : c));
        return raw;
      },
    });
  });
  after(() => env.close());

  test('a first sign-in asks for the account picker, with no login_hint', async () => {
    const browser = env.browser();
    const url = await browser.start(HOSTS.staff);
    assert.equal(url.searchParams.get('prompt'), 'select_account');
    assert.equal(url.searchParams.has('login_hint'), false);
    assert.equal(url.searchParams.has('domain_hint'), false, 'no domain hint for staff');
    // a login_hint in the query is not passed on
    const page = await browser.open(`http://${HOSTS.staff}/.auth/sso?rd=/&login_hint=ceo%40staff.test`);
    assert.equal(new URL(page.location ?? '').searchParams.has('login_hint'), false);
  });

  test('a browser signed in to Microsoft with another organisation’s account gets the picker, and signs in', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.acme, USERS.alice.oid); // Microsoft now knows this browser as Alice of Acme
    const pages = await browser.signIn(HOSTS.staff, USERS.ada.oid);
    assert.equal(last(pages).status, 200);
    assert.equal(JSON.parse((await me(browser, HOSTS.staff)).body).idp.tid, TENANTS.staff);
  });

  test('a known SSO user signing in again: login_hint (the login_hint claim), no picker, Microsoft signs them straight in', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.staff, USERS.ada.oid);
    const url = await browser.start(HOSTS.staff);
    const hint = url.searchParams.get('login_hint');
    assert.ok(hint?.startsWith('O.'), `the opaque login_hint claim: ${hint}`);
    assert.equal(url.searchParams.has('prompt'), false);
    const back = await env.fe.follow(url, { browser: browser.microsoft }); // no account chosen: the session is used
    assert.equal(last(await browser.follow(back)).status, 200);
  });

  test('after the session timed out, the sign-in suggests the same person; after sign-out or with a password session, nobody', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.staff, USERS.ken.oid);
    clock += 31 * 60 * 1000; // past the idle timeout
    const gate = await browser.open(`http://${HOSTS.staff}/dashboard`);
    assert.equal(gate.status, 302, 'the session is gone');
    assert.equal((await me(browser, HOSTS.staff)).status, 401);
    const url = await browser.start(HOSTS.staff);
    assert.ok(url.searchParams.get('login_hint')?.startsWith('O.'), 'the timed-out session’s user');
    assert.equal((await browser.open(`http://${HOSTS.acme}/.auth/sso?rd=/`)).location?.includes('login_hint'), false, 'not on another host');

    await browser.signIn(HOSTS.staff, USERS.ken.oid);
    await browser.open(`http://${HOSTS.staff}/.auth/logout`, { method: 'POST', headers: { origin: `http://${HOSTS.staff}` } });
    const afterSignOut = await browser.start(HOSTS.staff);
    assert.equal(afterSignOut.searchParams.has('login_hint'), false);
    assert.equal(afterSignOut.searchParams.get('prompt'), 'select_account');

    const cookie = await env.gw.sessionCookie(HOSTS.staff);
    const res = await env.gw.request(HOSTS.staff, '/.auth/sso?rd=/', { cookie });
    await res.body.dump();
    assert.equal(new URL(String(res.headers.location)).searchParams.has('login_hint'), false, 'a password session suggests nobody');
  });

  test('a portal client with a verified domain: domain_hint', async () => {
    const url = await env.browser().start(HOSTS.acme);
    assert.equal(url.searchParams.get('domain_hint'), 'acme.test');
  });
});

describe('entra.prompt', () => {
  test('none: Microsoft reuses its session silently — a browser signed in to another organisation is stuck at AADSTS50020', async () => {
    const env = await startEnv({ staff: { autoProvision: true }, configure: (raw) => ({ ...raw, entra: { ...(raw.entra as object), prompt: 'none' } }) });
    try {
      const browser = env.browser();
      await browser.signIn(HOSTS.acme, USERS.alice.oid);
      const url = await browser.start(HOSTS.staff);
      assert.equal(url.searchParams.has('prompt'), false);
      await assert.rejects(browser.atMicrosoft(url, USERS.ada.oid), (e: unknown) => e instanceof FakeEntraPageError && /AADSTS50020/.test(e.message));
    } finally {
      await env.close();
    }
  });

  test('login: always sent, even for a known user', async () => {
    const env = await startEnv({ staff: { autoProvision: true }, configure: (raw) => ({ ...raw, entra: { ...(raw.entra as object), prompt: 'login' } }) });
    try {
      const browser = env.browser();
      await browser.signIn(HOSTS.staff, USERS.ada.oid);
      const url = await browser.start(HOSTS.staff);
      assert.equal(url.searchParams.get('prompt'), 'login');
      assert.ok(url.searchParams.has('login_hint'));
    } finally {
      await env.close();
    }
  });

  test('validated: anything else is a precise configuration error', () => {
    const base = {
      keys: { session: ['x'], signing: [{ privateKey: 'x' }], encryption: [{ id: 'a', key: 'x' }] },
      sites: { staff: { hosts: ['s.example.test'], upstream: 'http://127.0.0.1:1' } },
    };
    assert.throws(() => loadConfigObject({ ...base, entra: { prompt: 'consent' } }), /entra\.prompt.*select_account, login or none/s);
    assert.throws(
      () =>
        loadConfigObject({
          ...base,
          sites: {
            ...base.sites,
            portal: { upstream: 'http://127.0.0.1:1', clients: [{ id: 'a', name: 'A', hosts: ['a.example.test'], domainHint: 'not a domain' }] },
          },
        }),
      /domainHint.*domain name/s,
    );
  });
});

describe('personal Microsoft accounts', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { autoProvision: true } });
  });
  after(() => env.close());

  test('an ID token from the consumer tenant is refused with its own words', async () => {
    const browser = env.browser();
    const url = await browser.start(HOSTS.staff);
    env.fe.overrideNextIdToken((c) => ({ claims: { ...c, tid: CONSUMER_TENANT_ID } }));
    const pages = await browser.follow(await browser.atMicrosoft(url, USERS.ada.oid));
    const page = last(pages);
    assert.equal(page.status, 403);
    assert.match(page.body, /Personal Microsoft account/);
    assert.match(page.body, /work or school account/);
    assert.equal((await me(browser, HOSTS.staff)).status, 401);
    const failure = (await env.gw.store.listAudit({ realm: 'staff', type: 'signin.failure' }))[0];
    assert.equal(failure?.details.code, 'SSO_PERSONAL_ACCOUNT');
  });

  test('a stored consumer tenant signs nobody in (settings written before this check)', async () => {
    await env.setStaff({ tenantId: CONSUMER_TENANT_ID });
    try {
      const page = await env.browser().open(`http://${HOSTS.staff}/.auth/sso?rd=/`);
      assert.notEqual(page.status, 303);
      assert.ok(page.location === null || !page.location.startsWith(env.fe.url));
    } finally {
      await env.setStaff({ tenantId: TENANTS.staff });
    }
  });

  test('the app registrations the tests use are the ones the gateway lists', () => {
    const list = registeredRedirectUris(env.gw.config);
    for (const uri of list.staff.uris) assert.ok(STAFF_APP.redirectUris.includes(uri), uri);
    for (const uri of list.portal!.uris) assert.ok(PORTAL_APP.redirectUris.includes(uri), uri);
  });
});
