// The redirect URIs and links Entra sees are built from the configuration; the staff
// client secret is sealed at rest and opens only as the staff SSO secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startEnv, STAFF_APP, TENANTS, type Env } from './support.ts';
import { adminConsentUrl, readStaffSecret, redirectUriFor, sealStaffSecret } from '../../../src/auth/entra/index.ts';
import { DEFAULT_STAFF_SSO } from '../../../src/auth/policy.ts';
import type { Config } from '../../../src/config/schema.ts';
import { tampered } from '../../support/tamper.ts';

const withServer = (config: Config, server: Partial<Config['server']>): Config => ({ ...config, server: { ...config.server, ...server } });

describe('URLs and secrets', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: null, acme: null });
  });
  after(() => env.close());

  test('redirectUriFor: public scheme and port (the default port is left out)', () => {
    const c = env.gw.config;
    assert.equal(redirectUriFor(c, HOSTS.acme), `http://${HOSTS.acme}/.auth/callback`);
    assert.equal(
      redirectUriFor(withServer(c, { publicScheme: 'https', publicPort: 8443 }), 'Staff.Example.Test'),
      'https://staff.example.test:8443/.auth/callback',
    );
    assert.equal(redirectUriFor(withServer(c, { publicScheme: 'https', publicPort: 443 }), HOSTS.staff), `https://${HOSTS.staff}/.auth/callback`);
    assert.equal(redirectUriFor(withServer(c, { publicScheme: 'http', publicPort: 8080 }), HOSTS.staff), `http://${HOSTS.staff}:8080/.auth/callback`);
  });

  test('adminConsentUrl: tenant authority, Graph .default, the staff consent callback, state', () => {
    const url = new URL(adminConsentUrl(env.gw.config, STAFF_APP.clientId, TENANTS.acme, 'st&ate'));
    assert.equal(`${url.origin}${url.pathname}`, `${env.fe.url}/${TENANTS.acme}/v2.0/adminconsent`);
    assert.equal(url.searchParams.get('client_id'), STAFF_APP.clientId);
    assert.equal(url.searchParams.get('scope'), 'https://graph.microsoft.com/.default');
    assert.equal(url.searchParams.get('redirect_uri'), `http://${HOSTS.staff}/.auth/consent/callback`);
    assert.equal(url.searchParams.get('state'), 'st&ate');
  });

  test('the staff secret is sealed, opens back, and does not open when tampered or moved', () => {
    const sealed = sealStaffSecret(env.core, STAFF_APP.clientSecret);
    assert.ok(!sealed.includes(STAFF_APP.clientSecret));
    assert.equal(readStaffSecret(env.core, { ...DEFAULT_STAFF_SSO, clientSecretEnc: sealed }), STAFF_APP.clientSecret);
    assert.equal(readStaffSecret(env.core, { ...DEFAULT_STAFF_SSO, clientSecretEnc: tampered(sealed, sealed.length - 4) }), null);
    assert.equal(readStaffSecret(env.core, { ...DEFAULT_STAFF_SSO, clientSecretEnc: env.core.secretBox.seal(STAFF_APP.clientSecret, 'totp:staff:x') }), null);
    assert.equal(readStaffSecret(env.core, DEFAULT_STAFF_SSO), null);
  });

  test('a staff secret that does not open: SSO is refused as misconfigured, never tried without it', async () => {
    await env.setStaff({
      tenantId: TENANTS.staff,
      clientId: STAFF_APP.clientId,
      clientSecretEnc: 'v1.k1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBB',
      enabled: true,
    });
    const page = await env.browser().open(`http://${HOSTS.staff}/.auth/sso?rd=/`);
    assert.equal(page.status, 503);
    assert.match(page.body, /not set up correctly/);
    assert.equal(env.fe.authorizeRequests.length, 0);
  });
});
