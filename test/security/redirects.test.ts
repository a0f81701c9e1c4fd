/**
 * Redirect targets. Every payload of shared/testdata/open-redirects.txt, and
 * host tricks built from the configured names without a dot boundary
 * (`support.acme.test.evil.tld`, `evilacme…`), end on a path of the gateway's own
 * host, wherever a target is taken:
 *
 * - sign-in with Microsoft: the `rd` kept by /.auth/sso (direct, and through the
 *   central callback host), and the final redirect of complete round trips;
 * - the central callback's hand-off goes to the client host the sign-in started on,
 *   never to a host named by the request;
 * - sign-in with a password and sign-out, for the host tricks (the 559 payloads there are
 *   test/auth/password/open-redirects.test.ts and test/routing/open-redirects.test.ts);
 * - admin consent: the callback never redirects anywhere, whatever it is sent, and the
 *   consent link's redirect URI is the configured staff host, however the page was reached.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startEnv, USERS, type Env } from '../auth/entra/support.ts';
import { requestTarget } from '../support/gateway.ts';
import { HOST_TRICKS, REDIRECT_PAYLOADS } from './support.ts';

/** payloads built from the host tricks: every way of naming another host as a target */
const TRICK_PAYLOADS = HOST_TRICKS.flatMap((h) => [
  `//${h}`,
  `//${h}/`,
  `///${h}`,
  `https://${h}/`,
  `http:${h}`,
  `https:/\\${h}`,
  `/\\${h}`,
  `\\\\${h}`,
  `/%2f${h}`,
  `/%5c${h}`,
  `//${h}%2f..`,
  h,
  `${h}/x`,
  `/.${h}`,
  `//${h}@${HOSTS.staff}`,
  `//${HOSTS.staff}@${h}`,
  `http://${HOSTS.staff}.${h}/`,
  `https://${HOSTS.acme}${h.slice(h.indexOf('.'))}`,
]);
const ALL = [...REDIRECT_PAYLOADS, ...TRICK_PAYLOADS];

function assertOwnHost(location: string | null | undefined, host: string, payload: string): void {
  assert.ok(typeof location === 'string' && location.length > 0, `a target for ${JSON.stringify(payload)}`);
  const url = new URL(location, `http://${host}/`);
  assert.equal(url.origin, `http://${host}`, `${JSON.stringify(payload)} → ${location} leaves ${host}`);
  assert.ok(
    !/^[a-z][a-z0-9+.-]*:|^\/\/|^\/\\|^\\/i.test(location) || location.startsWith(`http://${host}/`),
    `${JSON.stringify(payload)} → ${location} is not a same-host path`,
  );
}

function flowTarget(env: Env, cookieValue: string | undefined): string | undefined {
  assert.ok(cookieValue, 'a flow cookie');
  const flow = env.app.decodeSecureSession(decodeURIComponent(cookieValue), undefined, 'flowSession');
  return (flow?.get('f') as { rd?: string } | undefined)?.rd;
}

// one gateway for the file: staff signs in directly, portals through the central callback host
let env: Env;
before(async () => {
  env = await startEnv({ central: true, staff: { autoProvision: true } });
});
after(() => env.close());

describe('sign-in with Microsoft keeps only same-host targets', () => {
  for (const [name, host, raw] of [
    ['staff, direct callback', HOSTS.staff, true],
    ['portal, through the central callback host', HOSTS.acme, false],
  ] as const) {
    test(`${name}: all ${ALL.length} targets given to /.auth/sso are kept as same-host paths`, async () => {
      const e = env;
      let asWritten = 0;
      for (const payload of ALL) {
        const browser = e.browser();
        const page = await browser.open(`http://${host}/.auth/sso?rd=${encodeURIComponent(payload)}`);
        assert.equal(page.status, 303, `${payload}: ${page.status}`);
        assert.ok(page.location?.startsWith(e.fe.url), 'to Microsoft');
        assertOwnHost(flowTarget(e, browser.cookies(host).get(`${e.gw.cookieName}_flow`)), host, payload);
        if (!raw) continue;
        // the same payload written into the request target byte for byte, when it can be sent at all
        let answer;
        try {
          answer = await requestTarget(e.gw.port, host, `/.auth/sso?rd=${payload}`, { headers: { accept: 'text/html' } });
        } catch {
          continue;
        }
        asWritten++;
        if (answer.status !== 303) {
          assert.ok(answer.status >= 400 && answer.headers.location === undefined, `${payload}: ${answer.status}`);
          continue;
        }
        const setCookie = [answer.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${e.gw.cookieName}_flow=`));
        assertOwnHost(flowTarget(e, setCookie?.split(';', 1)[0]?.split('=').slice(1).join('=')), host, payload);
      }
      if (raw) assert.ok(asWritten > ALL.length / 2, `only ${asWritten} payloads could be sent as written`);
    });
  }

  test('complete staff round trips: the final redirect stays on the staff host', async () => {
    const sample = [...REDIRECT_PAYLOADS.filter((_, i) => i % 40 === 0), ...TRICK_PAYLOADS.filter((_, i) => i % 9 === 0)];
    for (const payload of sample) {
      const pages = await env.browser().signIn(HOSTS.staff, USERS.ada.oid, payload);
      const callback = pages[0]!;
      assert.equal(callback.status, 303, `${payload}: ${callback.body.slice(0, 200)}`);
      assertOwnHost(callback.location, HOSTS.staff, payload);
    }
  });

  test('complete portal round trips through the central host: hand-off to the starting host, then a same-host target', async () => {
    const sample = [...REDIRECT_PAYLOADS.filter((_, i) => i % 40 === 0), ...TRICK_PAYLOADS.filter((_, i) => i % 9 === 0)];
    for (const [i, payload] of sample.entries()) {
      const host = i % 2 ? HOSTS.acmeCustom : HOSTS.acme;
      const pages = await env.browser().signIn(host, USERS.alice.oid, payload);
      const [atCentral, handoff] = pages;
      assert.equal(atCentral?.status, 303, `${payload}: ${atCentral?.body.slice(0, 200)}`);
      const to = new URL(atCentral.location!);
      assert.equal(to.origin, `http://${host}`, `${payload}: the hand-off goes to ${to.origin}`);
      assert.equal(to.pathname, '/.auth/handoff');
      assert.equal(handoff?.status, 303, `${payload}: hand-off ${handoff?.status}`);
      assertOwnHost(handoff.location, host, payload);
    }
  });

  test('a request naming a look-alike host cannot start or finish a sign-in', async () => {
    for (const h of HOST_TRICKS.filter((x) => /^[a-z0-9.-]+$/.test(x))) {
      for (const path of ['/.auth/sso?rd=/', '/.auth/callback?code=x&state=y', '/.auth/handoff?ticket=x', '/.auth/login?rd=/']) {
        const res = await env.gw.request(h, path, { headers: { accept: 'text/html' } });
        await res.body.dump();
        assert.equal(res.statusCode, 421, `${h}${path}`);
        assert.equal(res.headers.location, undefined);
      }
    }
  });
});

describe('password sign-in and sign-out with host tricks', () => {
  test('GET /.auth/login while signed in, /.auth/logout and /.auth/signed-out: same-host targets and links only', async () => {
    for (const host of [HOSTS.staff, HOSTS.acmeCustom]) {
      for (const payload of TRICK_PAYLOADS) {
        const cookie = await env.gw.sessionCookie(host);
        const signedIn = await env.gw.request(host, `/.auth/login?rd=${encodeURIComponent(payload)}`, { cookie, headers: { accept: 'text/html' } });
        await signedIn.body.dump();
        assert.equal(signedIn.statusCode, 303, payload);
        assertOwnHost(signedIn.headers.location as string, host, payload);

        const out = await env.gw.request(host, `/.auth/logout?rd=${encodeURIComponent(payload)}`, {
          cookie,
          headers: { accept: 'text/html', 'sec-fetch-site': 'same-origin' },
        });
        await out.body.dump();
        assert.equal(out.statusCode, 303);
        assertOwnHost(out.headers.location as string, host, payload);
        const signedOut = await env.gw.request(host, out.headers.location as string, { headers: { accept: 'text/html' } });
        const page = await signedOut.body.text();
        for (const m of page.matchAll(/\b(?:href|action)="([^"]*)"/g)) {
          const link = (m[1] as string).replace(/&amp;/g, '&');
          assertOwnHost(link, host, payload);
          const rd = new URL(link, `http://${host}/`).searchParams.get('rd');
          if (rd !== null) assertOwnHost(rd, host, payload);
        }
      }
    }
  });
});

describe('admin consent never redirects', () => {
  test(`the consent callback answers every payload in every parameter with a page of its own, no Location`, async () => {
    const params = ['state', 'tenant', 'admin_consent', 'error', 'error_description', 'redirect_uri', 'rd', 'returnTo', 'next'];
    const sample = [...REDIRECT_PAYLOADS, ...TRICK_PAYLOADS];
    for (const [i, payload] of sample.entries()) {
      const name = params[i % params.length] as string;
      const q = new URLSearchParams({ state: 'v1.x.y', [name]: payload, ...(name === 'admin_consent' ? {} : { admin_consent: 'True' }) });
      const res = await env.gw.request(HOSTS.staff, `/.auth/consent/callback?${q}`, { headers: { accept: 'text/html' } });
      const page = await res.body.text();
      assert.equal(res.headers.location, undefined, `${name}=${payload}`);
      assert.ok(res.statusCode === 400 || res.statusCode === 200, `${name}=${payload}: ${res.statusCode}`);
      for (const m of page.matchAll(/\b(?:href|action|src)="([^"]*)"/g)) assertOwnHost((m[1] as string).replace(/&amp;/g, '&'), HOSTS.staff, payload);
      assert.doesNotMatch(page, /http-equiv="refresh"/i);
    }
  });

  test("the consent link's redirect URI is the configured staff host, whatever spelling of it the admin used", async () => {
    const admin = await env.gw.store.createUser({ realm: 'staff', email: 'consent-admin@example.com', displayName: 'Admin', role: 'admin' });
    for (const spelling of [HOSTS.staff, HOSTS.staff.toUpperCase(), `${HOSTS.staff}.`, `${HOSTS.staff}:8443`]) {
      const cookie = await env.gw.sessionCookie(spelling.toLowerCase().replace(/\.$|:\d+$/g, ''), { uid: admin.id, email: admin.email, role: 'admin' });
      const res = await env.gw.request(spelling, '/.auth/admin/portal/acme/authentication', { cookie, headers: { accept: 'text/html' } });
      const page = await res.body.text();
      assert.equal(res.statusCode, 200, spelling);
      const link = /id="consent-link" type="text" readonly value="([^"]*)"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(link, 'a consent link');
      assert.equal(new URL(link).searchParams.get('redirect_uri'), `http://${HOSTS.staff}/.auth/consent/callback`, spelling);
    }
  });
});
