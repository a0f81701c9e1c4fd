/**
 * Request ids (src/ops/request-id.ts): RFC 9562 UUIDs of version 8, a random part drawn per
 * process and a counter; never the same twice in a process, different between processes, and
 * a new random part once the counter has run through its 2^48 values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nextRequestId, requestIdSource } from '../../src/ops/request-id.ts';

/** a UUID of version 8 and the RFC's variant (10xx) */
const V8_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** the counter of an id: its last 12 hexadecimal digits */
const counter = (id: string): bigint => BigInt(`0x${id.slice(24)}`);

test('request ids are version-8 UUIDs, all different, the counter stepping by one', () => {
  const ids = Array.from({ length: 50_000 }, () => nextRequestId());
  for (const id of ids.slice(0, 1000)) assert.match(id, V8_UUID);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(new Set(ids.map((id) => id.slice(0, 24))).size, 1, 'one random part per process');
  for (let i = 1; i < ids.length; i++) assert.equal(counter(ids[i] as string), counter(ids[i - 1] as string) + 1n);
});

test('the random part sets the version and variant bits whatever the bytes drawn', () => {
  for (const fill of [0x00, 0xff, 0x5a]) assert.match(requestIdSource(() => new Uint8Array(16).fill(fill))(), V8_UUID);
  assert.equal(requestIdSource(() => new Uint8Array(16).fill(0))(), '00000000-0000-8000-8000-000000000000');
  assert.equal(requestIdSource(() => new Uint8Array(16).fill(0xff))(), 'ffffffff-ffff-8fff-bfff-ffffffffffff');
  assert.throws(() => requestIdSource(() => new Uint8Array(8)), /16 random bytes, not 8/);
});

test('the counter carries from its low half into its high half', () => {
  // the counter starts at 0x000001fffffe
  const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 1, 0xff, 0xff, 0xfe]);
  const next = requestIdSource(() => bytes);
  assert.deepEqual(
    [next(), next(), next()].map((id) => id.slice(24)),
    ['000001fffffe', '000001ffffff', '000002000000'],
  );
});

test('past the counter’s last value a new random part and start are drawn', () => {
  const draws = [
    Uint8Array.from([0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]),
    Uint8Array.from([0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0, 0, 0, 0, 0, 5]),
  ];
  let drawn = 0;
  const next = requestIdSource(() => draws[drawn++] as Uint8Array);
  assert.deepEqual(
    [next(), next(), next(), next()],
    [
      'aaaaaaaa-aaaa-8aaa-aaaa-fffffffffffe',
      'aaaaaaaa-aaaa-8aaa-aaaa-ffffffffffff',
      'bbbbbbbb-bbbb-8bbb-bbbb-000000000005',
      'bbbbbbbb-bbbb-8bbb-bbbb-000000000006',
    ],
  );
  assert.equal(drawn, 2);
});

test('two processes draw different random parts', () => {
  const script = fileURLToPath(new URL('../../src/ops/request-id.ts', import.meta.url));
  const code = `import(${JSON.stringify(script)}).then((m) => process.stdout.write(m.nextRequestId()))`;
  const [a, b] = [0, 1].map(() => execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }));
  assert.match(a as string, V8_UUID);
  assert.notEqual((a as string).slice(0, 24), (b as string).slice(0, 24));
});
