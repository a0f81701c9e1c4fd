/**
 * `npm start` on a terminal: the gateway's real log lines (its pino options) become one
 * short line per request, so the banner stays readable; warnings keep their message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loggerOptions } from '../../src/ops/logger.ts';
import { startGateway, HOSTS } from '../support/gateway.ts';
import { terminalLogLines } from '../../demo/log-lines.ts';

test('one short line per request, with method, host, path, status and time', async (t) => {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino(loggerOptions('info'), terminalLogLines(out));
  const gw = await startGateway({ deps: { logger } });
  t.after(() => gw.close());
  lines.length = 0;
  await (await gw.request(HOSTS.staff, '/private/page?x=1', { headers: { accept: 'application/json' } })).body.text();
  await (await gw.request('unknown.example', '/', { headers: { accept: 'text/html' } })).body.text();
  logger.warn({ code: 'IDP_UNAVAILABLE' }, 'sso sign-in failed');
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d {2}GET {3}staff\.example\.test\S* \/private\/page\?x=1 → 401 {2}\d+ ms$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d {2}GET {3}unknown\.example\S* \/ → 421 {2}\d+ ms$/);
  assert.equal(lines[2]!.slice(8), '  WARN  sso sign-in failed (code IDP_UNAVAILABLE)');
  assert.ok(
    lines.every((l) => !l.startsWith('{')),
    'no JSON on the terminal',
  );
});
