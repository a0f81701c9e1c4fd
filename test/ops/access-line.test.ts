/**
 * The access-log line is formatted by hand (src/ops/access-log.ts) for speed; it must be
 * the line pino writes for the same fields, with the logger's own redaction: the same keys
 * in the same order, the same values, valid JSON whatever the client sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { accessLine, destinationAccessLog, isoTime, jsonString, loggerAccessLog, millis, type AccessEntry } from '../../src/ops/access-log.ts';
import { loggerOptions } from '../../src/ops/logger.ts';

/** what pino writes through the gateway's logger options for the same entry */
function viaPino(entry: AccessEntry): string {
  let out = '';
  const logger = pino(loggerOptions('info'), { write: (s: string) => void (out += s) });
  loggerAccessLog(logger).completed(entry);
  return out;
}

/** a parsed line without its time (the two are written a moment apart) */
function withoutTime(line: string): [string[], Record<string, unknown>] {
  assert.ok(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, 'one line');
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.match(String(parsed.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  delete parsed.time;
  return [Object.keys(JSON.parse(line) as object), parsed];
}

const base: AccessEntry = {
  reqId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  method: 'GET',
  url: '/app/items?page=2',
  host: 'staff.example.test',
  ip: '127.0.0.1',
  statusCode: 200,
  responseTime: 1.2345678,
};

const cases: [string, AccessEntry][] = [
  ['a plain request', base],
  ['a response time at a rounding edge', { ...base, responseTime: 1.0005 }],
  ['credentials in the query', { ...base, url: '/.auth/callback?code=SECRET&state=S2&x=1' }],
  ['a URL inside a parameter', { ...base, url: '/.auth/login?rd=%2Fapp%3Ftoken%3DSECRET' }],
  ['JSON’s special characters and control characters', { ...base, host: 'a"b\\c\u00e9\u0001\u2028', url: '/p?q="\\\n' }],
  ['a lone surrogate, a pair (an emoji) and DEL', { ...base, host: 'x\ud800y', url: '/p/\ud83d\ude00/\u007f' }],
  ['no Host header, no address', { ...base, host: undefined, ip: undefined }],
  ['a response time that is not a number', { ...base, responseTime: Number.NaN, statusCode: 502 }],
];

for (const [name, entry] of cases) {
  test(`the access-log line is pino's line: ${name}`, () => {
    const mine = accessLine(entry);
    const [keys, fields] = withoutTime(mine);
    const [pinoKeys, pinoFields] = withoutTime(viaPino(entry));
    assert.deepEqual(keys, pinoKeys);
    assert.deepEqual(fields, pinoFields);
    assert.ok(!mine.includes('SECRET'), mine);
  });
}

test('the destination access log writes one line per request to the destination', () => {
  const written: string[] = [];
  const log = destinationAccessLog({ write: (s: string) => void written.push(s) });
  log.completed(base);
  log.completed({ ...base, statusCode: 404 });
  assert.equal(written.length, 2);
  assert.deepEqual(
    written.map((l) => (JSON.parse(l) as { res: unknown }).res),
    [{ statusCode: 200 }, { statusCode: 404 }],
  );
  assert.equal((JSON.parse(written[0] as string) as { msg: string }).msg, 'request completed');
});

test('jsonString writes what JSON.stringify writes: every UTF-16 code unit, alone and inside text, and random strings', () => {
  for (let c = 0; c <= 0xffff; c++) {
    const ch = String.fromCharCode(c);
    for (const value of [ch, `a${ch}b`]) assert.equal(jsonString(value), JSON.stringify(value), `U+${c.toString(16)}`);
  }
  // random strings from a small alphabet of the interesting characters
  const alphabet = ['a', '/', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u00e9', '\u2028', '\ud83d', '\ude00', '\ud800', '\udfff', ' '];
  let seed = 17;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
  for (let i = 0; i < 5_000; i++) {
    const value = Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join('');
    assert.equal(jsonString(value), JSON.stringify(value), JSON.stringify([...value].map((ch) => ch.charCodeAt(0))));
  }
});

test('isoTime is toISOString: across seconds, minutes, days, a leap day, a year and the epoch, in and out of order', () => {
  const starts = [0, Date.UTC(2024, 1, 29, 23, 59, 58, 990), Date.UTC(2026, 11, 31, 23, 59, 59, 0), Date.UTC(2026, 11, 4, 6, 40, 12, 345)];
  for (const start of starts) {
    for (let now = start; now < start + 2_500; now += 7) assert.equal(isoTime(now), new Date(now).toISOString());
  }
  // back and forth between seconds (the cached second is replaced, never reused wrongly)
  for (const now of [starts[1] as number, (starts[1] as number) + 1_000, starts[1] as number, 999, 1_000, 999]) {
    assert.equal(isoTime(now), new Date(now).toISOString());
  }
});

test('millis writes what toFixed(3) writes, from whole microseconds', () => {
  const values = [0, 0.0004, 0.0005, 0.001, 0.0099, 0.01, 0.0995, 0.1, 0.999, 0.9995, 1, 1.0005, 1.2345678, 9.9999, 10, 99.0996, 123.456, 2_147_483.647];
  for (let i = 0; i < 20_000; i++) values.push(Math.random() * 10 ** (i % 7));
  let ties = 0;
  for (const v of values) {
    const mine = millis(v);
    assert.match(mine, /^\d+\.\d{3}$/, String(v));
    if (mine === v.toFixed(3)) continue;
    // only where v × 1000 is a half to the double's precision may the two round the other way
    assert.ok(Math.abs(v * 1000 - Math.trunc(v * 1000) - 0.5) < 1e-6, `${v}: ${mine} against ${v.toFixed(3)}`);
    assert.ok(Math.abs(Number(mine) - v) <= 0.0005 + 1e-9, `${v}: ${mine}`);
    ties++;
  }
  assert.ok(ties < 10, `${ties} values rounded differently`);
  // beyond 2^31 microseconds, below zero: toFixed's own; not a number: null
  for (const v of [2_147_483.648, 86_400_000.5, -0.25, -1e-9]) assert.equal(millis(v), v.toFixed(3));
  for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) assert.equal(millis(v), 'null');
});
