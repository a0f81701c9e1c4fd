/**
 * The post-sign-in target (rd) never leaves the gateway's host: every payload of
 * shared/testdata/open-redirects.txt (oauth2-proxy's list, beside the repository) is tried
 *   1. as the rd of GET /.auth/login while signed in (the redirect is issued at once),
 *      both %-encoded and as written;
 *   2. as the rd of a new sign-in flow (the target the flow keeps, read from the flow cookie);
 *   3. for a sample, through a complete password + TOTP sign-in (the final Location).
 * Each Location must resolve, as a browser would resolve it, to this host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestTarget, startGateway, HOSTS } from '../../support/gateway.ts';
import { Client, createEnrolledUser, manualClock, signIn } from './flow.ts';

import { REDIRECT_PAYLOADS as PAYLOADS } from '../../security/support.ts';

function assertOwnHost(location: string | null | undefined, host: string, payload: string): void {
  assert.ok(typeof location === 'string' && location.length > 0, `a Location for ${JSON.stringify(payload)}`);
  assert.ok(location.startsWith('/') && !location.startsWith('//') && !location.startsWith('/\\'), `a path for ${JSON.stringify(payload)}: ${location}`);
  assert.equal(new URL(location, `http://${host}/`).origin, `http://${host}`, `same origin for ${JSON.stringify(payload)}: ${location}`);
}

test(`all ${PAYLOADS.length} open-redirect payloads end on the gateway's own host`, async (t) => {
  assert.ok(PAYLOADS.length >= 500, 'the payload list is there');
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now });
  t.after(() => gw.close());
  const host = HOSTS.acme;
  const cookie = await gw.sessionCookie(host);

  let raw = 0;
  for (const payload of PAYLOADS) {
    // 1a. signed in, %-encoded
    const res = await gw.request(host, `/.auth/login?rd=${encodeURIComponent(payload)}`, { cookie, headers: { accept: 'text/html' } });
    await res.body.dump();
    assert.equal(res.statusCode, 303, payload);
    assertOwnHost(res.headers.location as string, host, payload);

    // 1b. signed in, written into the request target byte for byte (when it can be sent at all)
    let asIs;
    try {
      asIs = await requestTarget(gw.port, host, `/.auth/login?rd=${payload}`, { headers: { cookie, accept: 'text/html' } });
    } catch {
      asIs = null; // characters no HTTP request target may hold (node:http refuses to send them, as would a browser)
    }
    if (asIs) {
      raw++;
      if (asIs.status === 303) assertOwnHost(asIs.headers.location, host, payload);
      else assert.ok(asIs.status >= 400 && asIs.headers.location === undefined, `refused without a redirect: ${payload}`);
    }

    // 2. a new flow keeps only a validated target
    const page = new Client(gw, host);
    const login = await page.get(`/.auth/login?rd=${encodeURIComponent(payload)}`);
    assert.equal(login.status, 200);
    const flowCookie = [...page.cookies].find(([name]) => name.endsWith('_flow'));
    assert.ok(flowCookie, 'a flow cookie');
    const flow = gw.app.decodeSecureSession(decodeURIComponent(flowCookie[1]), undefined, 'flowSession');
    assertOwnHost((flow?.get('f') as { rd: string } | undefined)?.rd, host, payload);
  }
  assert.ok(raw > PAYLOADS.length / 2, `most payloads were also sent as written (${raw})`);

  // 3. complete sign-ins (password + TOTP) for a sample: the final redirect
  const { user, secret } = await createEnrolledUser(gw, host, { email: 'rd@example.com' });
  const sample = PAYLOADS.filter((_, i) => i % 50 === 0);
  for (const payload of sample) {
    clock.advance(30_000); // a new TOTP step each time (a code is accepted once)
    const done = await signIn(new Client(gw, host), user.email, secret, clock.t, payload);
    assert.equal(done.status, 303, payload);
    assertOwnHost(done.location, host, payload);
  }
  t.diagnostic(`${PAYLOADS.length} payloads × (signed-in redirect, encoded and ${raw} as written; new flow) + ${sample.length} complete sign-ins`);
});
