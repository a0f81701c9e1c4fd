/**
 * The batching log destination (src/ops/log-destination.ts): lines come out whole and in
 * order, in one write per batch — at the end of the turn a batch fills up in, or a short
 * delay after its first line — flush() waits for them, flushSync() writes at once. (The crash and graceful-stop paths run in a real process: access-log.test.ts.)
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

test('lines are written in order, together; flush() waits for them', () =>
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

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a batch that does not fill up is written a short delay after its first line, not at every turn', () =>
  withFile(async (fd, read) => {
    const dest = new BatchedLogDestination(fd, { batchBytes: 4096, delayMs: 150 });
    try {
      const started = Date.now();
      dest.write('{"n":1}\n');
      await turn();
      dest.write('{"n":2}\n');
      await turn();
      await turn();
      if (Date.now() - started < 100) assert.equal(read(), '', 'two turns later, a partial batch still waits (no write per turn)');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(read(), '{"n":1}\n{"n":2}\n', 'written once the delay is over');
      dest.write('{"n":3}\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(read(), '{"n":1}\n{"n":2}\n{"n":3}\n', 'the next batch starts its own delay');
    } finally {
      dest.close();
    }
  }));

test('a batch that fills up is written at the end of its turn, without waiting for the delay', () =>
  withFile(async (fd, read) => {
    const dest = new BatchedLogDestination(fd, { batchBytes: 1024, delayMs: 60_000 });
    try {
      const line = `{"pad":"${'x'.repeat(190)}"}\n`;
      for (let i = 0; i < 6; i++) dest.write(line);
      assert.equal(read(), '', 'nothing is written on the logging call itself');
      await turn();
      assert.equal(read(), line.repeat(6), 'the full batch went out at the end of the turn');
    } finally {
      dest.close();
    }
  }));

test('close() writes a partial batch and leaves no timer behind', () =>
  withFile(async (fd, read) => {
    const dest = new BatchedLogDestination(fd, { batchBytes: 4096, delayMs: 60_000 });
    dest.write('last\n');
    dest.close();
    assert.equal(read(), 'last\n');
  }));

test('batch options are checked when the destination is made', () => {
  assert.throws(() => new BatchedLogDestination(1, { batchBytes: 0 }), /batchBytes must be a positive whole number, not 0/);
  assert.throws(() => new BatchedLogDestination(1, { delayMs: -1 }), /delayMs must be a whole number of milliseconds, not -1/);
  assert.throws(() => new BatchedLogDestination(1, { delayMs: Number.NaN }), /not NaN/);
});
