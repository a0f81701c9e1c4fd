// Every Microsoft cloud: the Graph scopes derive from entra.graphUrl. Against a stand-in
// playing a national cloud (its Graph resource is its own URL, and it refuses the global
// Graph's scopes with AADSTS500011 as such a cloud does), sign-in, Test Connection and the
// consent confirmation all ask for that cloud's Graph; config validation refuses a pair
// of authority and Graph that is no Microsoft cloud.
import { createEntraClient } from '../../../src/auth/entra/client.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeEntra, type FakeEntra } from '../../../dev/fake-entra/index.ts';
import { baseRawConfig, startGateway, HOSTS, TENANTS, type TestGateway } from '../../support/gateway.ts';
import { adminConsentUrl, checkConnection, confirmAdminConsent, sealStaffSecret } from '../../../src/auth/entra/index.ts';
import { signInScopes, graphDefaultScope } from '../../../src/config/entra-cloud.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY } from '../../../src/auth/policy.ts';
import { ConfigError } from '../../../src/errors.ts';
import { loadConfigObject } from '../../../src/config/load.ts';
import { Browser, PORTAL_APP, REGENTRA_TENANT, STAFF_APP, USERS, last } from './support.ts';
import type { Config } from '../../../src/config/schema.ts';

describe('a national cloud', () => {
  let fe: FakeEntra;
  let gw: TestGateway;
  before(async () => {
    fe = await startFakeEntra({
      cloud: 'national',
      tenants: [
        { id: TENANTS.staff, name: 'Regentra Staff', users: [USERS.ada, USERS.grace] },
        { id: TENANTS.acme, name: 'Acme Corp', users: [USERS.alice] },
        { id: REGENTRA_TENANT, name: 'Regentra', users: [] },
      ],
      apps: [STAFF_APP, PORTAL_APP],
    });
    fe.grantConsent(TENANTS.acme, PORTAL_APP.clientId);
    gw = await startGateway({
      configure(raw) {
        (raw.sites as { portal: Record<string, unknown> }).portal.entra = { clientId: PORTAL_APP.clientId, clientSecret: PORTAL_APP.clientSecret };
        // no graphResource: derived from graphUrl, as for Microsoft's clouds
        return { ...raw, entra: { authorityHost: fe.url, graphUrl: fe.graphUrl, allowInsecure: true } };
      },
    });
    await gw.store.putSetting(STAFF_SSO_KEY, {
      ...DEFAULT_STAFF_SSO,
      tenantId: TENANTS.staff,
      clientId: STAFF_APP.clientId,
      clientSecretEnc: sealStaffSecret(gw.core, STAFF_APP.clientSecret),
      secretSetAt: Date.now(),
      enabled: true,
      autoProvision: true,
    });
    gw.core.policy.invalidate();
  });
  after(async () => {
    await gw.close();
    await fe.close();
  });

  test('the stand-in refuses the global Graph’s scope (AADSTS500011), as a national cloud does', async () => {
    const response = await fetch(`${fe.url}/${TENANTS.staff}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: STAFF_APP.clientId,
        client_secret: STAFF_APP.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_resource');
    assert.match(
      body.error_description,
      /^AADSTS500011: The resource principal named https:\/\/graph\.microsoft\.com was not found in the tenant named Regentra Staff/,
    );
  });

  test('sign-in asks for this cloud’s User.Read and reads Graph there', async () => {
    assert.equal(signInScopes(gw.core.config), `openid profile email ${fe.graphUrl}/User.Read`);
    const browser = new Browser(gw, fe);
    const authorize = await browser.start(HOSTS.staff);
    assert.equal(authorize.searchParams.get('scope'), `openid profile email ${fe.graphUrl}/User.Read`);
    const pages = await browser.follow(await browser.atMicrosoft(authorize, USERS.grace.oid));
    assert.equal(last(pages).status, 200, last(pages).body.slice(0, 300));
    // grace has no email claim: the address came from this cloud's Graph with the token issued for it
    assert.equal((await gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.grace.oid))?.email, 'grace.hopper@staff.test');
    assert.deepEqual(fe.graphRequests.at(-1), { path: '/v1.0/me', status: 200, tenant: TENANTS.staff, oid: USERS.grace.oid });
  });

  test('Test Connection and the consent confirmation ask for this cloud’s .default', async () => {
    const result = await checkConnection(gw.core, { tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(fe.tokenRequests.at(-1)?.params.scope, `${fe.graphUrl}/.default`);
    const consent = await confirmAdminConsent(gw.core.entra, TENANTS.acme, PORTAL_APP);
    assert.equal(consent.confirmed, true);
    assert.equal(fe.tokenRequests.at(-1)?.params.scope, `${fe.graphUrl}/.default`);
    assert.equal(graphDefaultScope(gw.core.config), `${fe.graphUrl}/.default`);
    // and so does the admin consent link the client's administrator opens
    const link = new URL(adminConsentUrl(gw.core.config, PORTAL_APP.clientId, TENANTS.acme, 'state'));
    assert.equal(link.searchParams.get('scope'), `${fe.graphUrl}/.default`);
  });

  test('a gateway set up for the global Graph against this cloud: AADSTS500011 with the fix', async () => {
    const config = { ...gw.core.config, entra: { ...gw.core.config.entra, graphResource: 'https://graph.microsoft.com' } } as Config;
    const result = await checkConnection(
      { ...gw.core, config, entra: createEntraClient({ config, fetch: gw.core.fetch, metrics: gw.core.metrics }) },
      {
        tenantId: TENANTS.staff,
        clientId: STAFF_APP.clientId,
        clientSecret: STAFF_APP.clientSecret,
      },
    );
    assert.equal(result.error?.code, 'AADSTS500011');
    assert.match(result.error?.hint ?? '', /graph\.microsoft\.us/);
  });
});

describe('cloud pairs in the configuration', () => {
  const issues = (entra: Record<string, unknown>) => {
    try {
      loadConfigObject({ ...baseRawConfig('http://127.0.0.1:3001', 'http://127.0.0.1:3002'), entra });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.filter((i) => i.path.startsWith('entra'));
      throw err;
    }
  };

  test('Microsoft’s pairs are accepted and derive their scopes', () => {
    for (const [authorityHost, graphUrl, userRead] of [
      ['https://login.microsoftonline.com', 'https://graph.microsoft.com', 'User.Read'],
      ['https://login.microsoftonline.us/', 'https://graph.microsoft.us/', 'https://graph.microsoft.us/User.Read'],
      ['https://login.microsoftonline.us', 'https://dod-graph.microsoft.us', 'https://dod-graph.microsoft.us/User.Read'],
      ['https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn/User.Read'],
    ] as const) {
      assert.deepEqual(issues({ authorityHost, graphUrl }), [], `${authorityHost} + ${graphUrl}`);
      const config = { entra: { authorityHost, graphUrl } } as unknown as Config;
      assert.equal(signInScopes(config), `openid profile email ${userRead}`);
      assert.equal(graphDefaultScope(config), `${graphUrl.replace(/\/$/, '')}/.default`);
    }
  });

  test('a mixed pair or an unknown authority is a precise config error', () => {
    assert.deepEqual(issues({ authorityHost: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.com' }), [
      {
        path: 'entra.graphUrl',
        message:
          'https://graph.microsoft.com is not Microsoft Graph of the US Government (GCC High, DoD) cloud of https://login.microsoftonline.us: use https://graph.microsoft.us or https://dod-graph.microsoft.us',
      },
    ]);
    assert.deepEqual(issues({ authorityHost: 'https://login.chinacloudapi.cn' }), [
      {
        path: 'entra.graphUrl',
        message:
          'https://graph.microsoft.com is not Microsoft Graph of the China (operated by 21Vianet) cloud of https://login.chinacloudapi.cn: use https://microsoftgraph.chinacloudapi.cn',
      },
    ]);
    const [unknown] = issues({ authorityHost: 'https://login.example.com' });
    assert.equal(unknown?.path, 'entra.authorityHost');
    assert.match(unknown?.message ?? '', /^https:\/\/login\.example\.com is not a Microsoft Entra authority/);
    assert.deepEqual(
      issues({ graphResource: 'https://graph.microsoft.com' }).map((i) => i.path),
      ['entra.graphResource'],
    );
    // a local stand-in: allowed explicitly
    assert.deepEqual(
      issues({
        authorityHost: 'http://127.0.0.1:9400',
        graphUrl: 'http://127.0.0.1:9400/graph',
        graphResource: 'https://graph.microsoft.com',
        allowInsecure: true,
      }),
      [],
    );
  });
});
