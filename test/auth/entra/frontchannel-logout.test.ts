// Front-channel sign-out (#16 §3): a person signs out of Microsoft elsewhere; Microsoft
// loads the gateway's front-channel logout URL (sid + iss) in a hidden frame, which ends
// every gateway session started from that Entra session — server-side, since the frame has
// no cookie — and nothing else. Only the tenant's own issuer counts; the page may be framed
// by Microsoft's origin only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, last, startEnv, TENANTS, USERS, type Env } from './support.ts';
import { PATHS } from '../../../src/routing/reserved.ts';

describe('front-channel sign-out', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ acme: null, staff: { autoProvision: true } });
  });
  after(() => env.close());

  const signedIn = async (b: ReturnType<Env['browser']>) => (await b.open(`http://${HOSTS.staff}/dashboard`)).status === 200;

  test('signing out of Microsoft ends the gateway sessions of that Entra session only', async () => {
    const ada = env.browser();
    assert.equal(last(await ada.signIn(HOSTS.staff, USERS.ada.oid)).status, 200);
    const ken = env.browser();
    assert.equal(last(await ken.signIn(HOSTS.staff, USERS.ken.oid)).status, 200);

    const urls = env.fe.signOutOfMicrosoft(TENANTS.staff, USERS.ada.oid);
    assert.equal(urls.length, 1);
    const url = new URL(urls[0] as string);
    assert.equal(url.pathname, PATHS.frontchannelLogout);
    assert.equal(url.searchParams.get('iss'), `${env.fe.url}/${TENANTS.staff}/v2.0`);

    // the hidden frame: no cookie of the gateway's
    const frame = await env.browser().open(url);
    assert.equal(frame.status, 200);
    assert.match(String(frame.headers['content-security-policy']), new RegExp(`frame-ancestors ${env.fe.url.replace(/[.]/g, '\\.')}(;|$)`));
    assert.equal(frame.headers['x-frame-options'], undefined, 'framing by Microsoft is allowed (CSP decides)');
    assert.equal(frame.headers['cache-control'], 'no-store');

    assert.equal(await signedIn(ada), false, "Ada's gateway session ended");
    assert.equal(await signedIn(ken), true, "Ken's did not");
    const audit = await env.gw.store.listAudit({ type: 'signout.frontchannel', limit: 5 });
    assert.equal(audit[0]?.outcome, 'success');

    // a new Microsoft session (new sid) signs Ada in again, unaffected by the old one
    assert.equal(last(await ada.signIn(HOSTS.staff, USERS.ada.oid)).status, 200);
    assert.equal(await signedIn(ada), true);
  });

  test('refused: another issuer (another tenant, another cloud), a missing sid; nothing is revoked', async () => {
    const ken = env.browser();
    assert.equal(last(await ken.signIn(HOSTS.staff, USERS.ken.oid)).status, 200);
    const sid = env.fe.signOutOfMicrosoft(TENANTS.staff, USERS.ken.oid).map((u) => new URL(u).searchParams.get('sid'))[0] as string;
    const base = `http://${HOSTS.staff}${PATHS.frontchannelLogout}`;
    for (const iss of [
      `${env.fe.url}/${TENANTS.acme}/v2.0`,
      `https://login.microsoftonline.com/${TENANTS.staff}/v2.0`,
      `${env.fe.url}/${TENANTS.staff}/v2.0/`,
    ]) {
      const r = await env.browser().open(`${base}?sid=${encodeURIComponent(sid)}&iss=${encodeURIComponent(iss)}`);
      assert.equal(r.status, 400, iss);
    }
    const noSid = await env.browser().open(`${base}?iss=${encodeURIComponent(`${env.fe.url}/${TENANTS.staff}/v2.0`)}`);
    assert.equal(noSid.status, 400);
    assert.equal(await signedIn(ken), true, 'none of these signed Ken out');
    // on a portal host, the staff tenant's issuer is not one of its own
    const portal = await env
      .browser()
      .open(
        `http://${HOSTS.globex}${PATHS.frontchannelLogout}?sid=${encodeURIComponent(sid)}&iss=${encodeURIComponent(`${env.fe.url}/${TENANTS.staff}/v2.0`)}`,
      );
    assert.equal(portal.status, 400);
    assert.equal(await signedIn(ken), true);
  });
});
