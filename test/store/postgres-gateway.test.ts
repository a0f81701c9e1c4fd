/**
 * The gateway on PostgreSQL, end to end: buildApp with a PostgreSQL store, and
 * serve() with `store.driver: postgres` (schema, pool options), /readyz
 * following the database down and back up by itself, and signed-in users
 * working while it is down. Needs the test database (DATABASE_URL or the
 * local default); every schema is dropped afterwards.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseRawConfig, HOSTS, startGateway } from '../support/gateway.ts';
import { startUpstream } from '../support/upstream.ts';
import { openStore } from '../../src/store/index.ts';
import { eventually, startServed, type Served } from '../ops/harness.ts';
import { adminQuery, DATABASE_URL, databaseProxy, dropSchemas, startReplicas, testSchema, withPostgres } from '../ops/replicas.ts';

after(dropSchemas);

describe('gateway on PostgreSQL', () => {
  test('buildApp with a PostgreSQL store serves an authenticated request', async () => {
    const schema = testSchema('gw_app');
    const store = await openStore({ driver: 'postgres', url: DATABASE_URL, schema, pool: { max: 2 } });
    const gw = await startGateway({ store });
    try {
      const cookie = await gw.sessionCookie(HOSTS.staff, { email: 'pg-user@example.com' });
      const res = await gw.request(HOSTS.staff, '/reports', { cookie });
      assert.equal(res.statusCode, 200);
      const echo = (await res.body.json()) as { url: string; headers: Record<string, string> };
      assert.equal(echo.url, '/reports');
      assert.equal(echo.headers['x-regentra-email'], 'pg-user@example.com');
      const rows = await adminQuery<{ email: string }>(`SELECT email FROM ${schema}.users`);
      assert.deepEqual(
        rows.map((r) => r.email),
        ['pg-user@example.com'],
      );
    } finally {
      await gw.close();
      await store.close();
    }
  });

  test('serve() on PostgreSQL: schema and pool options applied; /readyz follows the database; signed-in users keep working while it is down', async () => {
    const staff = await startUpstream('staff-app');
    const proxy = await databaseProxy();
    const schema = testSchema('gw_serve');
    // the outage below refuses connections (fast); the timeout only needs to cover a busy machine
    const raw = withPostgres(baseRawConfig(staff.url, staff.url), schema, proxy.url, { max: 3, connectionTimeoutMillis: 5_000 });
    (raw as { session: Record<string, unknown> }).session = { secure: false, revocationCheckSeconds: 1 };
    let served: Served | undefined;
    try {
      const gw = (served = await startServed(raw));
      assert.equal(gw.running.store.kind, 'postgres');
      const migrated = await adminQuery<{ n: string }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [
        schema,
        'schema_migrations',
      ]);
      assert.equal(Number(migrated[0]?.n), 1, 'migrations ran in the configured schema');

      const ready = await gw.ops('/readyz');
      assert.equal(ready.status, 200);
      assert.equal((JSON.parse(ready.body) as { checks: Record<string, string> }).checks.store, 'ok');

      const seen = await gw.sessionCookie(HOSTS.staff);
      const unseen = await gw.sessionCookie(HOSTS.staff);
      const first = await gw.request(HOSTS.staff, '/app', { cookie: seen });
      assert.equal(first.statusCode, 200);
      await first.body.dump();

      // pool.max from the config bounds the connections
      const store = gw.running.store;
      await Promise.all(Array.from({ length: 12 }, () => store.listUsers('staff')));
      assert.ok(proxy.peakConnections <= 3, `peak ${proxy.peakConnections} connections with pool.max 3`);

      await proxy.stop();
      const down = await gw.ops('/readyz');
      assert.equal(down.status, 503);
      assert.match((JSON.parse(down.body) as { checks: Record<string, string> }).checks.store ?? '', /^unavailable: /);
      assert.equal((await gw.ops('/readyz?exclude=store')).status, 200, 'the store check can be excluded');
      assert.equal((await gw.ops('/healthz')).status, 200, 'liveness does not depend on the database');

      // past revocationCheckSeconds the check fails and the last known state is used
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      for (const cookie of [seen, unseen]) {
        const res = await gw.request(HOSTS.staff, '/app', { cookie });
        assert.equal(res.statusCode, 200, 'a signed-in user keeps working while PostgreSQL is down');
        await res.body.dump();
      }
      const metrics = (await gw.ops('/metrics')).body;
      assert.match(metrics, /^regentra_store_errors_total\{operation="(ping|getUser)",code="UNAVAILABLE"\} [1-9]/m);

      await proxy.start();
      await eventually(async () => (await gw.ops('/readyz')).status === 200, 10_000, '/readyz to recover');
      const after = await gw.request(HOSTS.staff, '/app', { cookie: seen });
      assert.equal(after.statusCode, 200);
      await after.body.dump();
    } finally {
      await served?.close();
      await proxy.stop();
      await staff.close();
    }
  });

  test('two serve() replicas on one schema: a session works on both, and disabling the user on one ends it on the other', async () => {
    const staff = await startUpstream('staff-app');
    const raw = withPostgres(baseRawConfig(staff.url, staff.url), testSchema('gw_replicas'));
    (raw as { session: Record<string, unknown> }).session = { secure: false, revocationCheckSeconds: 1 };
    const replicas: Served[] = [];
    try {
      replicas.push(...(await startReplicas(2, raw)));
      const [one, two] = replicas as [Served, Served];
      const cookie = await one.sessionCookie(HOSTS.staff);
      for (const replica of replicas) {
        const res = await replica.request(HOSTS.staff, '/app', { cookie });
        assert.equal(res.statusCode, 200);
        await res.body.dump();
      }
      const store = one.running.store;
      const [user] = await store.listUsers('staff');
      await store.updateUser('staff', user!.id, { status: 'disabled' });
      await eventually(
        async () => {
          const res = await two.request(HOSTS.staff, '/app', { cookie });
          await res.body.dump();
          return res.statusCode === 401;
        },
        5_000,
        'the other replica to see the disabled user',
      );
    } finally {
      for (const replica of replicas) await replica.close();
      await staff.close();
    }
  });
});
