/**
 * The instrumenting Store decorator: passes every call through unchanged, times
 * each by operation, counts failures by operation and code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, type Metrics } from '../../src/ops/metrics.ts';
import { instrumentStore, STORE_OPERATIONS } from '../../src/ops/instrumented-store.ts';
import { openStore } from '../../src/store/index.ts';
import { StoreError, type Store } from '../../src/store/types.ts';

async function sample(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const values = (await metric.get()).values;
  const hit = values.find(
    (v) =>
      Object.entries(labels).every(([k, want]) => v.labels[k] === want) &&
      (!name.endsWith('_seconds') || (v as { metricName?: string }).metricName === `${name}_count`),
  );
  return hit?.value;
}

let inner: Store;
let metrics: Metrics;
let store: Store;
before(async () => {
  inner = await openStore({ driver: 'sqlite', path: ':memory:' });
  metrics = createMetrics({ defaultMetrics: false });
  store = instrumentStore(inner, metrics);
});
after(async () => {
  await store.close();
  metrics.close();
});

describe('instrumented store', () => {
  test('wraps exactly the methods of a real store', () => {
    const methods = Object.keys(inner)
      .filter((k) => typeof (inner as unknown as Record<string, unknown>)[k] === 'function')
      .sort();
    assert.deepEqual([...STORE_OPERATIONS].sort(), methods);
    assert.deepEqual(Object.keys(store).sort(), ['kind', ...methods].sort());
    assert.equal(store.kind, 'sqlite');
    assert.ok(Object.isFrozen(store));
  });

  test('results pass through, and every call is timed under its operation name', async () => {
    const user = await store.createUser({ realm: 'staff', email: 'Timed@Example.com', displayName: 'T' });
    assert.deepEqual(await store.getUser('staff', user.id), await inner.getUser('staff', user.id));
    assert.equal(await store.consumeOnce('k1', Date.now() + 60_000), true);
    assert.equal(await store.consumeOnce('k1', Date.now() + 60_000), false);
    await store.ping();

    assert.equal(await sample(metrics, 'regentra_store_operation_seconds', { operation: 'createUser' }), 1);
    assert.equal(await sample(metrics, 'regentra_store_operation_seconds', { operation: 'getUser' }), 1);
    assert.equal(await sample(metrics, 'regentra_store_operation_seconds', { operation: 'consumeOnce' }), 2);
    assert.equal(await sample(metrics, 'regentra_store_operation_seconds', { operation: 'ping' }), 1);
    assert.equal(await sample(metrics, 'regentra_store_errors_total', { operation: 'consumeOnce' }), undefined, 'a false result is not a failure');
  });

  test('a failure is rethrown as is and counted by operation and code', async () => {
    await store.createUser({ realm: 'staff', email: 'dup@example.com', displayName: 'D' });
    const duplicate = await store.createUser({ realm: 'staff', email: 'dup@example.com', displayName: 'D' }).catch((e: unknown) => e);
    assert.ok(duplicate instanceof StoreError);
    assert.equal(duplicate.code, 'DUPLICATE');
    await assert.rejects(store.updateUser('staff', 'no-such-user', { displayName: 'x' }), { name: 'StoreError', code: 'NOT_FOUND' });

    assert.equal(await sample(metrics, 'regentra_store_errors_total', { operation: 'createUser', code: 'DUPLICATE' }), 1);
    assert.equal(await sample(metrics, 'regentra_store_errors_total', { operation: 'updateUser', code: 'NOT_FOUND' }), 1);
    assert.equal(await sample(metrics, 'regentra_store_operation_seconds', { operation: 'updateUser' }), 1, 'failed calls are timed too');
  });

  test('a synchronous throw or a non-StoreError is counted as unknown and still rejects', async () => {
    const broken = {
      ...inner,
      kind: 'broken',
      getSetting: () => {
        throw new TypeError('boom');
      },
    } as unknown as Store;
    const m = createMetrics({ defaultMetrics: false });
    try {
      const s = instrumentStore(broken, m);
      await assert.rejects(s.getSetting('x'), { name: 'TypeError', message: 'boom' });
      assert.equal(await sample(m, 'regentra_store_errors_total', { operation: 'getSetting', code: 'unknown' }), 1);
    } finally {
      m.close();
    }
  });

  test('a closed store fails UNAVAILABLE, counted as such', async () => {
    const other = await openStore({ driver: 'sqlite', path: ':memory:' });
    const m = createMetrics({ defaultMetrics: false });
    try {
      const s = instrumentStore(other, m);
      await s.close();
      await assert.rejects(s.ping(), { code: 'UNAVAILABLE' });
      assert.equal(await sample(m, 'regentra_store_errors_total', { operation: 'ping', code: 'UNAVAILABLE' }), 1);
      assert.equal(await sample(m, 'regentra_store_operation_seconds', { operation: 'close' }), 1);
    } finally {
      m.close();
    }
  });
});
