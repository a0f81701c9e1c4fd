// Two gateways (replicas) on one SQLite file: a change made on one reaches the other
// within the settings cache bound, without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { SETTINGS_CACHE_MS } from '../../src/auth/policy.ts';
import type { TestGateway } from '../support/gateway.ts';
import { ecPem, key32 } from '../support/keys.ts';
import { Browser, HOSTS, PATH, TENANTS, staffAdmin, startAdminGateway } from './helpers.ts';

const keys = { session: [key32()], signing: [{ privateKey: ecPem() }], encryption: [{ id: 'k1', key: key32() }] };
let dir: string;
const stores: Store[] = [];
let a: TestGateway;
let b: TestGateway;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regentra-admin-'));
  const path = join(dir, 'shared.db');
  stores.push(await openStore({ driver: 'sqlite', path }), await openStore({ driver: 'sqlite', path }));
  a = await startAdminGateway({ store: stores[0], keys });
  b = await startAdminGateway({ store: stores[1], keys });
});
after(async () => {
  await a.close();
  await b.close();
  for (const s of stores) await s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Poll `probe` until it holds; resolves with the time it took. */
async function within(limitMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await probe())) {
    assert.ok(performance.now() - started < limitMs, `not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - started;
}

test('a portal setting saved on one replica is enforced by the other within the cache bound', async () => {
  const acme = b.core.sites.lookup(HOSTS.acme)!;
  // replica B has the old policy cached
  assert.equal((await b.core.policy.forSite(acme)).sso, false);

  const admin = new Browser(a, HOSTS.staff, (await staffAdmin(a)).cookie);
  const saved = await admin.submit(PATH.portal('acme'), { action: 'save', tenantId: TENANTS.acme, ssoEnabled: 'on', mfa: 'required' });
  assert.equal(saved.status, 303);
  assert.equal((await a.core.policy.forSite(a.core.sites.lookup(HOSTS.acme)!)).sso, true, 'the replica that wrote sees it at once');

  await within(SETTINGS_CACHE_MS + 1000, async () => (await b.core.policy.forSite(acme)).sso);
  // B's settings page reads the store directly and shows the change too
  const adminOnB = new Browser(b, HOSTS.staff, (await staffAdmin(b)).cookie);
  assert.ok((await adminOnB.get(PATH.portal('acme'))).body.includes(`value="${TENANTS.acme}"`));
});

test('a staff SSO setting changed on one replica reaches the other, and a stale form there is refused', async () => {
  const adminOnB = new Browser(b, HOSTS.staff, (await staffAdmin(b)).cookie);
  const staleOnB = await adminOnB.get(PATH.sso);
  assert.equal((await b.core.policy.staffSso()).autoProvision, false);

  const admin = new Browser(a, HOSTS.staff, (await staffAdmin(a)).cookie);
  assert.equal((await admin.submit(PATH.sso, { action: 'auto-provision-on' })).status, 303);
  await within(SETTINGS_CACHE_MS + 1000, async () => (await b.core.policy.staffSso()).autoProvision);

  const csrf = /name="csrf" value="([^"]+)"/.exec(staleOnB.body)![1]!;
  const version = /name="version" value="(\d+)"/.exec(staleOnB.body)![1]!;
  const res = await adminOnB.send('POST', PATH.sso, { form: { csrf, version, action: 'auto-provision-on' } });
  assert.equal(res.status, 409);
});
