/**
 * The Node.js flags the gateway runs with (src/runtime/node-flags.ts): every launcher passes
 * them, and `serve` says so when a process was started without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { missingNodeFlags, NODE_FLAGS } from '../../src/runtime/node-flags.ts';
import { baseRawConfig } from '../support/gateway.ts';
import { startGatewayProcess } from './replicas.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${root}bin/regentra-gateway.js`;

test('missingNodeFlags: a flag counts when given on the command line or in NODE_OPTIONS, whatever its value', () => {
  assert.deepEqual(missingNodeFlags([], undefined), [...NODE_FLAGS]);
  assert.deepEqual(missingNodeFlags([...NODE_FLAGS], undefined), []);
  assert.deepEqual(missingNodeFlags(['--inspect'], ` ${NODE_FLAGS.join(' ')} `), []);
  assert.deepEqual(missingNodeFlags(['--max_semi_space_size=32', '--min_semi_space_size=8'], ''), [], 'V8 accepts _ for -; the operator chose other sizes');
  // each flag by itself: the young generation's maximum alone (the advice before round fifteen) leaves it growing
  assert.deepEqual(missingNodeFlags(['--max-semi-space-size=16'], ''), ['--min-semi-space-size=2']);
  assert.deepEqual(missingNodeFlags(['--max-old-space-size=512'], '--expose-gc'), [...NODE_FLAGS]);
});

test("the command's shebang and `npm start` pass every flag", () => {
  const shebang = readFileSync(BIN, 'utf8').split('\n')[0] as string;
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
  for (const f of NODE_FLAGS) assert.ok(shebang.split(' ').includes(f), `${f} in ${shebang}`);
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
  for (const f of NODE_FLAGS) assert.ok(pkg.scripts.start?.split(' ').includes(f), `${f} in npm start`);
});

test('serve notes the flags a process was started without, and is quiet when they are there', async () => {
  const raw = baseRawConfig('http://127.0.0.1:9', 'http://127.0.0.1:9');
  for (const [nodeFlags, note] of [
    [[], true],
    [NODE_FLAGS, false],
  ] as const) {
    const gw = await startGatewayProcess(raw, { nodeFlags });
    // the note is written right after the line that says it is listening: once the process
    // has exited, everything it wrote is in (no fixed wait)
    assert.equal(await gw.stop(), 0);
    const output = gw.output();
    if (note) assert.ok(output.includes(`node was started without ${NODE_FLAGS.join(' ')};`), output);
    else assert.doesNotMatch(output, /started without/);
  }
});
