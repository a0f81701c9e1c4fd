// Test Connection, step 1 (server side): the tenant's discovery document, then a
// client-credentials token for Graph `.default` — success and each failure, explained.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, STAFF_APP, TENANTS, type Env } from './support.ts';
import { checkConnection } from '../../../src/auth/entra/index.ts';

const creds = (patch: Partial<{ tenantId: string; clientId: string; clientSecret: string }> = {}) => ({
  tenantId: TENANTS.staff,
  clientId: STAFF_APP.clientId,
  clientSecret: STAFF_APP.clientSecret,
  ...patch,
});

describe('checkConnection', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: null, acme: null });
  });
  after(() => env.close());

  test('the right values: discovery and a client-credentials token both pass', async () => {
    const result = await checkConnection(env.core, creds({ tenantId: TENANTS.staff.toUpperCase() }));
    assert.equal(result.ok, true);
    assert.equal(result.error, null);
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.ok]),
      [
        ['discovery', true],
        ['token', true],
      ],
    );
    const token = env.fe.tokenRequests.at(-1);
    assert.equal(token?.params.grant_type, 'client_credentials');
    assert.equal(token?.params.scope, 'https://graph.microsoft.com/.default');
    assert.equal(token?.clientAuth, 'client_secret_post');
    assert.equal(token?.tenant, TENANTS.staff);
  });

  test('a wrong secret: AADSTS7000215 with its hint; the secret is not in the answer', async () => {
    const result = await checkConnection(env.core, creds({ clientSecret: 'wrong~secret' }));
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.ok]),
      [
        ['discovery', true],
        ['token', false],
      ],
    );
    assert.equal(result.error?.code, 'AADSTS7000215');
    assert.match(result.error?.hint ?? '', /Secret ID/);
    assert.ok(!JSON.stringify(result).includes('wrong~secret'));
  });

  test('an unknown tenant: AADSTS90002 at discovery, no token request', async () => {
    const before = env.fe.tokenRequests.length;
    const result = await checkConnection(env.core, creds({ tenantId: '99999999-9999-4999-8999-999999999999' }));
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.ok]),
      [['discovery', false]],
    );
    assert.equal(result.error?.code, 'AADSTS90002');
    assert.match(result.error?.hint ?? '', /Tenant ID/);
    assert.equal(env.fe.tokenRequests.length, before);
  });

  test('an app that is not in the tenant: AADSTS700016', async () => {
    const result = await checkConnection(env.core, creds({ tenantId: TENANTS.acme }));
    assert.equal(result.ok, false);
    assert.equal(result.steps[1]?.ok, false);
    assert.equal(result.error?.code, 'AADSTS700016');
    assert.match(result.error?.hint ?? '', /Client ID/);
  });

  test('malformed values are explained without asking Microsoft', async () => {
    const before = env.fe.authorizeRequests.length + env.fe.tokenRequests.length;
    for (const bad of [creds({ tenantId: 'contoso.onmicrosoft.com' }), creds({ clientId: '' }), creds({ clientSecret: '' })]) {
      const result = await checkConnection(env.core, bad);
      assert.equal(result.ok, false);
      assert.equal(result.error?.code, 'INVALID_SETTINGS');
    }
    assert.equal(env.fe.authorizeRequests.length + env.fe.tokenRequests.length, before);
  });

  test('Microsoft unreachable: IDP_UNAVAILABLE', async () => {
    env.fe.setDown(true);
    try {
      const result = await checkConnection(env.core, creds({ tenantId: TENANTS.globex }));
      assert.equal(result.ok, false);
      assert.equal(result.error?.code, 'IDP_UNAVAILABLE');
    } finally {
      env.fe.setDown(false);
    }
  });
});
