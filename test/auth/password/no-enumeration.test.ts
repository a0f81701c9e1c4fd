/**
 * Unknown email and wrong password get the same answer (status, headers that
 * matter, page) and take the same time (medians of 15 interleaved attempts each,
 * generous bound: the scrypt work dominates both; without the dummy hash the
 * unknown email would answer in a few milliseconds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { alertOf, Client, createUser, submitPassword } from './flow.ts';

const ATTEMPTS = 15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

test('unknown email and wrong password: same page, same timing', async (t) => {
  const gw = await startGateway({
    configure: (raw) => ({ ...raw, auth: { lockout: { maxFailures: 1000 }, ipThrottle: { maxFailures: 1000 } } }),
  });
  t.after(() => gw.close());
  await createUser(gw, HOSTS.staff, { email: 'known@example.com' });
  const client = new Client(gw, HOSTS.staff);

  const wrong = await submitPassword(client, 'known@example.com', 'not the password at all');
  const unknown = await submitPassword(client, 'nobody@example.com', 'not the password at all');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, wrong.status);
  assert.equal(alertOf(wrong.body), 'Email or password is incorrect.');
  // the same page but for the email typed and the flow's own CSRF token
  const neutral = (body: string, email: string) => body.replace(email, 'EMAIL').replace(/name="csrf" value="[^"]+"/, 'CSRF');
  assert.equal(neutral(unknown.body, 'nobody@example.com'), neutral(wrong.body, 'known@example.com'));
  for (const h of ['content-type', 'cache-control', 'retry-after', 'set-cookie']) assert.deepEqual(unknown.headers[h], wrong.headers[h], h);
  assert.ok(!wrong.body.includes('not the password at all'), 'the password is never echoed');

  const timed = async (email: string): Promise<number> => {
    const page = await client.get('/.auth/login');
    const csrf = (/name="csrf" value="([^"]+)"/.exec(page.body) as RegExpExecArray)[1] as string;
    const start = performance.now();
    const res = await client.post('/.auth/login', { csrf, email, password: 'wrong password, again' });
    const ms = performance.now() - start;
    assert.equal(res.status, 401);
    return ms;
  };
  const known: number[] = [];
  const nobody: number[] = [];
  for (let i = 0; i < ATTEMPTS; i++) {
    known.push(await timed('known@example.com'));
    nobody.push(await timed(`nobody${i}@example.com`));
  }
  const a = median(known);
  const b = median(nobody);
  t.diagnostic(`median wrong password ${a.toFixed(1)} ms, unknown email ${b.toFixed(1)} ms`);
  assert.ok(Math.min(a, b) > 20, 'both paths do the scrypt work');
  // generous (a shared CI box is noisy); a missing dummy hash shows as ~150 ms vs ~2 ms
  assert.ok(Math.abs(a - b) <= Math.max(a, b) / 2, `medians within half of each other (${a.toFixed(1)} vs ${b.toFixed(1)} ms)`);
});
