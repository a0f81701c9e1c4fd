/**
 * The settings module (src/settings/): one read/merge/write path with a schema per
 * setting, run against every store engine (SQLite and PostgreSQL), and the one audit
 * shape of a settings change.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { StoreError, type Store } from '../../src/store/types.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import { createPolicyService, realmSessionRules } from '../../src/auth/policy.ts';
import { buildSiteTable } from '../../src/routing/sites.ts';
import { putSetting, readSetting, readWithDefaults, SETTINGS, SettingsError, writeSetting } from '../../src/settings/store.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY } from '../../src/settings/types.ts';
import { settingsChangeEvent } from '../../src/settings/audit.ts';
import { baseRawConfig, HOSTS, TENANTS } from '../support/gateway.ts';
import { DATABASE_URL, dropSchemas, testSchema } from '../support/postgres.ts';

const { config } = loadConfigObject(baseRawConfig('http://127.0.0.1:1', 'http://127.0.0.1:2'));
const STAFF_ON = { ...DEFAULT_STAFF_SSO, tenantId: TENANTS.staff, clientId: '22222222-2222-4222-8222-222222222222', clientSecretEnc: 'sealed', enabled: true };

let schemas = 0;
const engines: Array<[string, () => Promise<Store>]> = [
  ['sqlite', () => openStore({ driver: 'sqlite', path: ':memory:' })],
  ['postgres', () => openStore({ driver: 'postgres', url: DATABASE_URL, schema: testSchema(`settings${++schemas}`), pool: { max: 4 } })],
];

after(() => dropSchemas());

for (const [engine, open] of engines) {
  describe(`settings on ${engine}`, () => {
    test('a missing setting reads as its defaults at version 0; one without defaults as null', async () => {
      const store = await open();
      try {
        assert.deepEqual(await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY), { value: DEFAULT_STAFF_SSO, version: 0 });
        assert.deepEqual(await readSetting(store, SETTINGS.setupLink, 'account.setup-link.none'), { value: null, version: 0 });
      } finally {
        await store.close();
      }
    });

    test('a stored value is merged over the defaults (a field an older version did not write reads as its default)', async () => {
      const store = await open();
      try {
        await store.putSetting(STAFF_SSO_KEY, { tenantId: TENANTS.staff, enabled: false });
        const { value, version } = await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY);
        assert.equal(version, 1);
        assert.equal(value.tenantId, TENANTS.staff);
        assert.equal(value.autoLink, false, 'default');
        assert.equal(value.passwordSessionsValidAfter, 0, 'default');
      } finally {
        await store.close();
      }
    });

    test('a stored value that does not match its schema is an error naming the key and field, never the defaults; the policy fails closed', async () => {
      const store = await open();
      try {
        // a sign-in setting damaged outside the gateway: "enabled" as a string, "ssoOnly" missing its type
        await store.putSetting(STAFF_SSO_KEY, { ...STAFF_ON, ssoOnly: 'yes' });
        await assert.rejects(readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY), (err: unknown) => {
          assert.ok(err instanceof SettingsError);
          assert.equal(err.code, 'CORRUPT');
          assert.equal(err.key, STAFF_SSO_KEY);
          assert.ok(
            err.problems.some((p) => p.startsWith('ssoOnly:')),
            err.message,
          );
          assert.doesNotMatch(err.message, /sealed/, 'values are not repeated in the error');
          return true;
        });
        const policy = createPolicyService(config, store);
        const staff = buildSiteTable(config).lookup(HOSTS.staff);
        assert.ok(staff);
        await assert.rejects(policy.forSite(staff), { code: 'CORRUPT' }, 'no sign-in decision from a setting that does not parse');
        await assert.rejects(realmSessionRules(config, store, 'staff'), { code: 'CORRUPT' }, 'nor a session decision');
      } finally {
        await store.close();
      }
    });

    test('a value that does not match its schema is refused and nothing is stored', async () => {
      const store = await open();
      try {
        const bad = { ...STAFF_ON, enabled: 'true' } as unknown as typeof STAFF_ON;
        await assert.rejects(writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, bad, 0, 1), { code: 'INVALID' });
        assert.equal(await store.getSetting(STAFF_SSO_KEY), null);
        await assert.rejects(putSetting(store, SETTINGS.currentSetupLink, 'account.setup-link-of.staff.u1', { hash: 'not-a-hash', expiresAt: 1 }), {
          code: 'INVALID',
        });
        assert.equal(await store.getSetting('account.setup-link-of.staff.u1'), null);
      } finally {
        await store.close();
      }
    });

    test('a write at a version someone else has already moved on from is a CONFLICT; nothing is overwritten', async () => {
      const store = await open();
      try {
        await writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, STAFF_ON, 0, 1);
        await writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, { ...STAFF_ON, autoLink: true }, 1, 2);
        await assert.rejects(
          writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, { ...STAFF_ON, autoProvision: true }, 1, 3),
          (err: unknown) => err instanceof StoreError && err.code === 'CONFLICT',
        );
        const { value, version } = await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY);
        assert.equal(version, 2);
        assert.equal(value.autoLink, true);
        assert.equal(value.autoProvision, false);
        await assert.rejects(
          writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, STAFF_ON, undefined, 4),
          { code: 'INVALID' },
          'a sign-in setting needs its version',
        );
      } finally {
        await store.close();
      }
    });

    test('taking a way of signing in away stamps its epoch; a caller cannot reset a stamp', async () => {
      const store = await open();
      try {
        await writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, STAFF_ON, 0, 1_000);
        await writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, { ...STAFF_ON, ssoOnly: true }, 1, 2_000);
        let { value } = await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY);
        assert.equal(value.passwordSessionsValidAfter, 2_000, 'SSO-only on: password sessions started before end');
        assert.equal(value.ssoSessionsValidAfter, 0);
        await writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, { ...STAFF_ON, ssoOnly: false, passwordSessionsValidAfter: 0 }, 2, 3_000);
        ({ value } = await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY));
        assert.equal(value.passwordSessionsValidAfter, 2_000, 'turning it back (and sending a zero) does not revive them');
        await writeSetting(store, config, SETTINGS.staffSso, STAFF_SSO_KEY, { ...STAFF_ON, clientId: '33333333-3333-4333-8333-333333333333' }, 3, 4_000);
        ({ value } = await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY));
        assert.equal(value.ssoSessionsValidAfter, 4_000, 'another SSO application ends SSO sessions');
      } finally {
        await store.close();
      }
    });
  });
}

test('a settings change has one audit shape, from an admin page or the CLI; no secret in it', () => {
  const admin = settingsChangeEvent({
    at: 5,
    setting: STAFF_SSO_KEY,
    realm: 'staff',
    action: 'save',
    outcome: 'success',
    changes: { enabled: { from: false, to: true }, clientSecret: 'replaced' },
    user: { id: 'u1', email: 'ada@example.com' },
    via: 'admin',
    ip: '10.0.0.1',
  });
  assert.deepEqual(admin, {
    at: 5,
    type: 'settings.change',
    outcome: 'success',
    realm: 'staff',
    userId: 'u1',
    actor: 'u1',
    ip: '10.0.0.1',
    details: {
      setting: STAFF_SSO_KEY,
      action: 'save',
      changes: { enabled: { from: false, to: true }, clientSecret: 'replaced' },
      by: 'ada@example.com',
      via: 'admin',
    },
  });
  const cli = settingsChangeEvent({ at: 6, setting: STAFF_SSO_KEY, realm: 'staff', action: 'disable', outcome: 'success', user: null, via: 'cli', ip: null });
  assert.equal(cli.actor, 'cli');
  assert.deepEqual(Object.keys(cli.details), ['setting', 'action', 'by', 'via']);
});
