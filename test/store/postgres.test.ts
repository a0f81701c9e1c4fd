/**
 * PostgreSQL store tests. Needs a server: DATABASE_URL, or the local default
 * (trust auth). Each run works in its own schemas and drops them afterwards.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { openStore } from '../../src/store/index.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { PostgresPoolOptions } from '../../src/store/postgres.ts';
import { StoreError } from '../../src/store/types.ts';
import type { Store } from '../../src/store/types.ts';
import { storeContract } from './contract.ts';
import { adminQuery, databaseProxy, DATABASE_URL, dropSchemas, testSchema, urlVia } from '../support/postgres.ts';

const POOL: PostgresPoolOptions = { max: 10, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 5_000 };
const newSchema = testSchema;

async function rejectsUnavailable(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.ok(error.cause !== undefined);
    return true;
  });
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

after(() => dropSchemas());

const contractSchema = newSchema('contract');
storeContract('postgres', () => openStore({ driver: 'postgres', url: DATABASE_URL, schema: contractSchema, pool: POOL }));

describe('postgres store', () => {
  test('three replicas migrating a fresh schema at once all succeed, each migration recorded once', async () => {
    const schema = newSchema('race');
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore({ url: DATABASE_URL, schema, pool: POOL })));
    try {
      await Promise.all(stores.map((store) => store.migrate()));
      await Promise.all(stores.map((store) => store.migrate()));
      const rows = await adminQuery<{ version: number; name: string; n: string }>(
        `SELECT version, name, COUNT(*) OVER (PARTITION BY version) AS n FROM ${schema}.schema_migrations ORDER BY version`,
      );
      assert.deepEqual(
        rows.map(({ version, name, n }) => ({ version, name, n: Number(n) })),
        MIGRATIONS.map(({ version, name }) => ({ version, name, n: 1 })),
      );
      const user = await stores[0]!.createUser({ realm: 'staff', email: 'race@example.com', displayName: 'R' });
      assert.deepEqual(await stores[2]!.getUser('staff', user.id), user);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test('the schema option isolates data', async () => {
    const a = await openStore({ driver: 'postgres', url: DATABASE_URL, schema: newSchema('iso_a'), pool: POOL });
    const b = await openStore({ driver: 'postgres', url: DATABASE_URL, schema: newSchema('iso_b'), pool: POOL });
    try {
      const user = await a.createUser({ realm: 'staff', email: 'iso@example.com', displayName: 'I' });
      assert.equal(await b.getUser('staff', user.id), null);
      await b.createUser({ realm: 'staff', email: 'iso@example.com', displayName: 'I' });
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an invalid schema name is refused', async () => {
    await assert.rejects(openPostgresStore({ url: DATABASE_URL, schema: 'x; DROP TABLE users', pool: POOL }), TypeError);
  });

  test('an unreachable server rejects UNAVAILABLE at once (connection refused)', async () => {
    const started = Date.now();
    await rejectsUnavailable(openStore({ driver: 'postgres', url: urlVia(1), pool: POOL }));
    const store = await openPostgresStore({ url: urlVia(1), pool: POOL });
    await rejectsUnavailable(store.ping());
    await rejectsUnavailable(store.getUser('staff', 'x'));
    await rejectsUnavailable(store.setRecoveryCodes('x', ['a']));
    await store.close();
    assert.ok(Date.now() - started < POOL.connectionTimeoutMillis, 'refused connections must fail fast');
  });

  test('a server that never answers rejects UNAVAILABLE after connectionTimeoutMillis', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => {});
    });
    const port = await listen(silent);
    const pool = { ...POOL, connectionTimeoutMillis: 300 };
    try {
      const started = Date.now();
      await rejectsUnavailable(openStore({ driver: 'postgres', url: urlVia(port), pool }));
      const store = await openPostgresStore({ url: urlVia(port), pool });
      await rejectsUnavailable(store.ping());
      await store.close();
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 2 * 300 && elapsed < 5_000, `took ${elapsed} ms`);
    } finally {
      for (const socket of held) socket.destroy();
      await closeServer(silent);
    }
  });

  test('a lost connection does not crash the process, and calls recover once the server is back', async () => {
    const proxy = await databaseProxy();
    const schema = newSchema('recover');
    const backgroundErrors: StoreError[] = [];
    let store: Store | undefined;
    try {
      store = await openPostgresStore({
        url: proxy.url,
        schema,
        pool: POOL,
        onBackgroundError: (error) => backgroundErrors.push(error),
      });
      await store.migrate();
      const user = await store.createUser({ realm: 'staff', email: 'lost@example.com', displayName: 'L' });
      // several idle connections in the pool
      await Promise.all([1, 2, 3, 4].map(() => store!.getUser('staff', user.id)));

      await proxy.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await rejectsUnavailable(store.getUser('staff', user.id));
      await rejectsUnavailable(store.setRecoveryCodes(user.id, ['a']));

      await proxy.start();
      assert.deepEqual(await store.getUser('staff', user.id), user);
      await store.setRecoveryCodes(user.id, ['a']);
      assert.equal(await store.consumeRecoveryCode(user.id, 'a'), true);
      // the idle connections' errors were handled (an unhandled one would have crashed the process)
      assert.ok(backgroundErrors.length > 0);
      assert.ok(backgroundErrors.every((error) => error.code === 'UNAVAILABLE'));
    } finally {
      await store?.close();
      await proxy.stop();
    }
  });

  test('BIGINT times come back as numbers', async () => {
    const store = await openStore({ driver: 'postgres', url: DATABASE_URL, schema: contractSchema, pool: POOL, now: () => 1_800_000_000_123 });
    try {
      const user = await store.createUser({ realm: 'bigint', email: `${randomBytes(6).toString('hex')}@example.com`, displayName: 'B' });
      assert.equal(user.createdAt, 1_800_000_000_123);
      assert.equal(await store.acceptTotpStep('bigint', user.id, 2 ** 40), true);
      assert.equal((await store.getUser('bigint', user.id))?.totpLastStep, 2 ** 40);
    } finally {
      await store.close();
    }
  });
});
