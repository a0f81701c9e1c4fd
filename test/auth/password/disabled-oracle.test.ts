// A disabled account must not confirm its password (issue #12 §7): the right password
// gets exactly the wrong password's answer — page, status, headers, failure counting and
// lockout — while the audit log keeps the real reason. (The work is the wrong password's
// too: the route takes the same branch, without the re-read a right password gets.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway } from '../../support/gateway.ts';
import { setStatus } from '../../../src/auth/password/users.ts';
import { alertOf, Client, createEnrolledUser, PASSWORD, submitPassword, type Page } from './flow.ts';

const MAX_FAILURES = 4;

describe('a disabled account answers as a wrong password', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      transport: 'inject',
      configure: (raw) => ({ ...raw, auth: { lockout: { maxFailures: MAX_FAILURES }, ipThrottle: { maxFailures: 10_000 } } }),
    });
  });
  after(() => gw.close());

  async function disabledAccount(email: string) {
    const { user } = await createEnrolledUser(gw, HOSTS.acme, { email });
    await setStatus(gw.store, user, 'disabled', { actor: 'test' });
    return user;
  }

  const neutral = (page: Page, email: string) => ({
    status: page.status,
    alert: alertOf(page.body),
    body: page.body
      .replaceAll(email, 'EMAIL')
      .replace(/name="csrf" value="[^"]+"/, 'CSRF')
      .replace(/Reference: [^<]+/, ''),
    headers: [
      page.headers['cache-control'],
      page.headers['retry-after'],
      page.headers['content-type'],
      String(page.headers['set-cookie'] ?? '').includes('regentra_session='),
    ],
  });

  test('the right password, a wrong one, and an unknown email get the same page', async () => {
    await disabledAccount('gone@example.com');
    const right = neutral(await submitPassword(new Client(gw, HOSTS.acme), 'gone@example.com', PASSWORD), 'gone@example.com');
    const wrong = neutral(await submitPassword(new Client(gw, HOSTS.acme), 'gone@example.com', 'not the password at all'), 'gone@example.com');
    const unknown = neutral(await submitPassword(new Client(gw, HOSTS.acme), 'nobody@example.com', PASSWORD), 'nobody@example.com');
    assert.equal(right.status, 401);
    assert.equal(right.alert, 'Email or password is incorrect.');
    assert.deepEqual(right, wrong, 'the right password on a disabled account is answered as a wrong one');
    assert.deepEqual(right, unknown);
    assert.equal(right.headers[3], false, 'no session');
  });

  test('the right password counts towards the lockout like a wrong one, and the audit log keeps the real reason', async () => {
    const user = await disabledAccount('counted@example.com');
    const withRight: number[] = [];
    const withWrong: number[] = [];
    for (let i = 0; i < MAX_FAILURES + 1; i++) withRight.push((await submitPassword(new Client(gw, HOSTS.acme), 'counted@example.com', PASSWORD)).status);
    await disabledAccount('counted-wrong@example.com');
    for (let i = 0; i < MAX_FAILURES + 1; i++)
      withWrong.push((await submitPassword(new Client(gw, HOSTS.acme), 'counted-wrong@example.com', `guess ${i}`)).status);
    assert.deepEqual(withRight, withWrong);
    assert.equal(withRight.at(-1), 429, 'locked after the same number of attempts');
    const reasons = (await gw.store.listAudit({ type: 'signin.failure', realm: 'portal:acme', limit: 100 }))
      .filter((e) => e.userId === user.id)
      .map((e) => e.details.reason);
    assert.ok(reasons.includes('disabled'), `audit reasons: ${reasons.join(', ')}`);
  });
});
