/**
 * One reply per request: a lockout reached on the TOTP, enrolment or recovery-code step
 * answers with the lockout page once, and nothing is logged about a second reply
 * ("Reply was already sent", FST_ERR_REP_ALREADY_SENT). The gateway's real pino
 * logger is captured at debug level.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { alertOf, Client, createEnrolledUser, createUser, csrfOf, manualClock, PASSWORD, submitPassword } from '../password/flow.ts';

function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const STEPS = [
  { step: 'totp', path: '/.auth/login/totp', enrolled: true },
  { step: 'enroll', path: '/.auth/login/enroll', enrolled: false },
  { step: 'recovery', path: '/.auth/login/recovery', enrolled: true },
] as const;

for (const { step, path, enrolled } of STEPS) {
  test(`a lockout on the ${step} step is answered once: the lockout page, and no "Reply was already sent" in the logs`, async (t) => {
    const { logger, lines } = capturedLogger();
    const clock = manualClock();
    const gw = await startGateway({ now: clock.now, deps: { logger } });
    t.after(() => gw.close());
    const email = `lock-${step}@example.com`;
    if (enrolled) await createEnrolledUser(gw, HOSTS.staff, { email });
    else await createUser(gw, HOSTS.staff, { email });
    const client = new Client(gw, HOSTS.staff);
    const pwd = await submitPassword(client, email, PASSWORD);
    assert.equal(pwd.status, 303);

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await client.get(path);
      assert.equal(page.status, 200, `the ${step} page (attempt ${i + 1})`);
      const answer = await client.post(path, { csrf: csrfOf(page.body), code: step === 'recovery' ? 'aaaa-bbbb-cccc-dddd' : '000000' });
      statuses.push(answer.status);
      if (answer.status === 429) assert.match(alertOf(answer.body) ?? '', /locked/);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 429], 'four wrong codes, then the lockout page');
    // the request after the lockout: the flow's password step is gone, so the sign-in page again
    const after = await client.get(path);
    assert.equal(after.status, 200);

    await new Promise((r) => setImmediate(r));
    const doubles = lines.filter((l) => /already sent|FST_ERR_REP_ALREADY_SENT/i.test(l));
    assert.deepEqual(doubles, [], 'no second reply was attempted');
    assert.deepEqual(
      lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50),
      [],
      'no error was logged',
    );
    assert.ok(
      lines.some((l) => l.includes('"statusCode":429')),
      'the logs were captured (the 429 is logged)',
    );
  });
}

test('a lockout on the password step, and the attempts after it, are answered once each', async (t) => {
  const { logger, lines } = capturedLogger();
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now, deps: { logger } });
  t.after(() => gw.close());
  await createEnrolledUser(gw, HOSTS.staff, { email: 'lock-pwd@example.com' });
  const client = new Client(gw, HOSTS.staff);
  const statuses: number[] = [];
  for (let i = 0; i < 30 && !statuses.includes(429); i++) statuses.push((await submitPassword(client, 'lock-pwd@example.com', 'wrong password here')).status);
  assert.equal(statuses.at(-1), 429);
  // the locked account again, and other emails from the same address
  assert.equal((await submitPassword(client, 'lock-pwd@example.com', PASSWORD)).status, 429);
  for (let i = 0; i < 10; i++) await submitPassword(client, `nobody-${i}@example.com`, 'wrong password here');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.filter((l) => /already sent|FST_ERR_REP_ALREADY_SENT/i.test(l)),
    [],
  );
  assert.deepEqual(
    lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50),
    [],
  );
});
