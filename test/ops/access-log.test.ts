/**
 * The access log goes through a batched destination (src/ops/log-destination.ts):
 * a graceful stop loses no line, and a crash (an uncaught exception) still writes every
 * line logged before it. The gateway runs in a child process writing to a pipe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/runtime/node-flags.ts';

const CHILD = fileURLToPath(new URL('./children/access-log.ts', import.meta.url));
const COUNT = 60;

async function run(mode: 'stop' | 'crash'): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, CHILD, mode, String(COUNT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const lines = out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, lines, stderr };
}

const accessLines = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.msg === 'request completed' && /^\/assets\/line-\d+$/.test(String((l.req as { url?: string } | undefined)?.url)));

test('a graceful stop loses no access-log line', async () => {
  const { code, lines, stderr } = await run('stop');
  assert.equal(code, 0, stderr);
  const access = accessLines(lines);
  assert.equal(access.length, COUNT, `${access.length} of ${COUNT} lines`);
  assert.deepEqual(new Set(access.map((l) => (l.req as { url: string }).url)).size, COUNT);
  assert.equal(lines.at(-1)?.msg, 'stopped', 'the last line is the stop');
});

test('a crash (uncaught exception) still writes every line logged before it, those of its own turn too', async () => {
  const { code, lines, stderr } = await run('crash');
  assert.notEqual(code, 0);
  assert.match(stderr, /deliberate crash/);
  assert.equal(accessLines(lines).length, COUNT);
  assert.equal(lines.filter((l) => l.msg === 'pending at the crash').length, 20);
});
