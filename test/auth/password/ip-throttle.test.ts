/**
 * Per-client-IP throttle (`auth.ipThrottle`): failures across many emails from one
 * address block that address for the window, with a Retry-After; the block runs out.
 * The count is in the store, so every replica sees the failures of the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { openStore } from '../../../src/store/index.ts';
import { Client, createEnrolledUser, manualClock, PASSWORD, submitPassword } from './flow.ts';

test('many failures from one IP, each on a different email, throttle that IP', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({
    transport: 'inject',
    now: clock.now,
    configure: (raw) => ({ ...raw, auth: { ipThrottle: { maxFailures: 4, windowSeconds: 120 } } }),
  });
  t.after(() => gw.close());
  await createEnrolledUser(gw, HOSTS.globex, { email: 'someone@example.com' });
  const client = new Client(gw, HOSTS.globex);

  for (let i = 0; i < 4; i++) assert.equal((await submitPassword(client, `spray${i}@example.com`, 'Winter2031!')).status, 401);
  const blocked = await submitPassword(client, 'someone@example.com', PASSWORD);
  assert.equal(blocked.status, 429, 'even the right password waits');
  assert.equal(blocked.headers['retry-after'], '120');
  assert.match(blocked.body, /Too many failed sign-in attempts from your network\. Try again in 2 minutes/);

  clock.advance(120_000);
  assert.equal((await submitPassword(client, 'someone@example.com', PASSWORD)).status, 303);
});

test('the count is shared by every replica: failures spread over two gateways on one store throttle the IP on both', async (t) => {
  const clock = manualClock();
  const store = await openStore({ driver: 'sqlite', path: ':memory:' });
  const configure = (raw: Record<string, unknown>) => ({ ...raw, auth: { ipThrottle: { maxFailures: 4, windowSeconds: 120 } } });
  const a = await startGateway({ transport: 'inject', now: clock.now, store, configure });
  const b = await startGateway({ transport: 'inject', now: clock.now, store, configure });
  t.after(async () => {
    await a.close();
    await b.close();
    await store.close();
  });
  await createEnrolledUser(a, HOSTS.globex, { email: 'someone@example.com' });
  const onA = new Client(a, HOSTS.globex);
  const onB = new Client(b, HOSTS.globex);
  // two failures on each replica: each alone is below the limit of 4
  for (let i = 0; i < 2; i++) {
    assert.equal((await submitPassword(onA, `spray-a${i}@example.com`, 'Winter2031!')).status, 401);
    assert.equal((await submitPassword(onB, `spray-b${i}@example.com`, 'Winter2031!')).status, 401);
  }
  assert.equal((await submitPassword(onA, 'someone@example.com', PASSWORD)).status, 429, "replica A counts B's failures");
  assert.equal((await submitPassword(onB, 'someone@example.com', PASSWORD)).status, 429, "replica B counts A's failures");
  clock.advance(120_000);
  assert.equal((await submitPassword(onB, 'someone@example.com', PASSWORD)).status, 303);
});
