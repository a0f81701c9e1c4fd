/**
 * The settings cache bound holds however long a settings read takes: a value read
 * just before another replica's change, by a read that returned after it, is dropped
 * SETTINGS_CACHE_MS after the read *began* (so within SETTINGS_CACHE_MS of the change),
 * not SETTINGS_CACHE_MS after the slow read returned.
 *
 * Two policy services on one PostgreSQL schema (replica "B" reads, the test plays
 * replica "A" writing); B's store answers its one settings read late, as a database
 * under load would.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicyService, DEFAULT_PORTAL_AUTH, portalAuthKey, SETTINGS_CACHE_MS, type PortalAuthSettings } from '../../src/auth/policy.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { baseRawConfig } from '../support/gateway.ts';
import { PORTAL_APP } from '../admin/helpers.ts';
import { DATABASE_URL, dropSchemas, testSchema } from './replicas.ts';
import { sleep } from './harness.ts';

/** how late B's settings read answers (it reads the row at once, then waits) */
const READ_DELAY_MS = 800;

let store: Store;

before(async () => {
  store = await openStore({ driver: 'postgres', url: DATABASE_URL, schema: testSchema('settings_cache') });
});
after(async () => {
  await store?.close();
  await dropSchemas();
});

test('a setting read just before a change is dropped within SETTINGS_CACHE_MS of the change, even when the read was slow', async () => {
  const raw = baseRawConfig('http://127.0.0.1:9', 'http://127.0.0.1:9');
  (raw.sites as { portal: Record<string, unknown> }).portal.entra = { ...PORTAL_APP };
  const { config } = loadConfigObject(raw);
  const key = portalAuthKey('acme');
  await store.putSetting<PortalAuthSettings>(key, { ...DEFAULT_PORTAL_AUTH, passwordAllowed: true });

  // replica B: the same store, but its settings reads answer READ_DELAY_MS late
  const slow: Store = Object.create(store, {
    getSetting: {
      value: async (k: string) => {
        const row = await store.getSetting(k);
        await sleep(READ_DELAY_MS);
        return row;
      },
    },
  }) as Store;
  const b = createPolicyService(config, slow);

  const readStarted = Date.now();
  const reading = b.portalAuth('acme'); // reads the old row, answers late
  await sleep(50);
  // replica A changes the setting while B's read is under way
  await store.putSetting<PortalAuthSettings>(key, { ...DEFAULT_PORTAL_AUTH, passwordAllowed: false });
  const changedAt = Date.now();
  assert.equal((await reading).passwordAllowed, true, 'the slow read returned the old value');
  assert.ok(Date.now() - readStarted >= READ_DELAY_MS);

  // after the bound (from the change) B must use the new value; its reads are still slow, so
  // "new" is what B answers once this read (begun after the bound) returns
  const deadline = changedAt + SETTINGS_CACHE_MS;
  await sleep(Math.max(0, deadline - Date.now()) + 20);
  assert.equal((await b.portalAuth('acme')).passwordAllowed, false, `B still used the old value ${Date.now() - changedAt} ms after the change`);
});
