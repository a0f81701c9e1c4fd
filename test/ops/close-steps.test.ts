/**
 * closeEach (src/runtime/close-steps.ts), the last steps of serve()'s and the cluster
 * primary's stop: every step runs whatever the others did, and a failure is said by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeEach } from '../../src/runtime/close-steps.ts';

test('closeEach runs every step, in order, after a step throws or rejects; each failure is logged by name', async () => {
  const ran: string[] = [];
  const logged: { msg: string; err: unknown }[] = [];
  const log = { error: (obj: object, msg: string) => void logged.push({ msg, err: (obj as { err: unknown }).err }) };
  const clean = await closeEach(
    [
      ['the ops listener', () => void ran.push('ops')],
      [
        'the store',
        () => {
          ran.push('store');
          throw new Error('store gone');
        },
      ],
      ['the metrics', () => (ran.push('metrics'), Promise.reject(new Error('metrics gone')))],
      ['the last', async () => void ran.push('last')],
    ],
    log,
  );
  assert.equal(clean, false);
  assert.deepEqual(ran, ['ops', 'store', 'metrics', 'last']);
  assert.deepEqual(
    logged.map((l) => [l.msg, (l.err as Error).message]),
    [
      ['closing the store failed', 'store gone'],
      ['closing the metrics failed', 'metrics gone'],
    ],
  );
});

test('closeEach is clean when every step closes, and logs nothing', async () => {
  const logged: string[] = [];
  const clean = await closeEach(
    [
      ['a', () => undefined],
      ['b', () => Promise.resolve()],
    ],
    { error: (_o, msg) => void logged.push(msg) },
  );
  assert.equal(clean, true);
  assert.deepEqual(logged, []);
});
