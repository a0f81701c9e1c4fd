/**
 * The batching log destination (src/ops/log-destination.ts): lines come out whole and in
 * order, one write per turn of the event loop, flush() waits for them, flushSync() writes
 * at once. (The crash and graceful-stop paths run in a real process: access-log.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchedLogDestination } from '../../src/ops/log-destination.ts';

function withFile(fn: (fd: number, read: () => string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-log-'));
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'w');
  return fn(fd, () => readFileSync(file, 'utf8')).finally(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
}

test('lines are written in order, together, on the next turn; flush() waits for them', () =>
  withFile(async (fd, read) => {
    const dest = new BatchedLogDestination(fd);
    try {
      for (let i = 0; i < 1000; i++) dest.write(`{"i":${i},"text":"é ✓"}\n`);
      assert.equal(read(), '', 'nothing is written on the logging call itself');
      await new Promise<void>((resolve) => dest.flush(() => resolve()));
      const lines = read().trimEnd().split('\n');
      assert.equal(lines.length, 1000);
      lines.forEach((l, i) => assert.deepEqual(JSON.parse(l), { i, text: 'é ✓' }));
    } finally {
      dest.close();
    }
  }));

test('flushSync() writes what is pending at once (what the exit listener does)', () =>
  withFile(async (fd, read) => {
    const dest = new BatchedLogDestination(fd);
    dest.write('one\n');
    dest.write('two\n');
    dest.flushSync();
    assert.equal(read(), 'one\ntwo\n');
    dest.close();
    assert.equal(read(), 'one\ntwo\n', 'nothing twice');
  }));

test('close() stops listening for exit', () =>
  withFile(async (fd) => {
    const before = process.listenerCount('exit');
    const dest = new BatchedLogDestination(fd);
    assert.equal(process.listenerCount('exit'), before + 1);
    dest.close();
    assert.equal(process.listenerCount('exit'), before);
  }));
