/**
 * The access-log line is formatted by hand (src/ops/access-log.ts) for speed; it must be
 * the line pino writes for the same fields, with the logger's own redaction: the same keys
 * in the same order, the same values, valid JSON whatever the client sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { accessLine, destinationAccessLog, loggerAccessLog, type AccessEntry } from '../../src/ops/access-log.ts';
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
