/**
 * Recovery codes: one of the 10 codes replaces the TOTP code once (amr
 * ["pwd","otp","rcv"]), typed in any case, with or without dashes; a used code is
 * refused afterwards; wrong codes count as failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { alertOf, Client, createEnrolledUser, csrfOf, PASSWORD, submitPassword } from '../password/flow.ts';

test('a recovery code signs in once, instead of a TOTP code', async (t) => {
  const gw = await startGateway();
  t.after(() => gw.close());
  const { user, recoveryCodes } = await createEnrolledUser(gw, HOSTS.acme, { email: 'lost-phone@example.com' });
  assert.equal(recoveryCodes.length, 10);
  const code = recoveryCodes[3] as string;

  const useCode = async (typed: string) => {
    const browser = new Client(gw, HOSTS.acme);
    assert.equal((await submitPassword(browser, user.email, PASSWORD, '/tickets/7')).location, '/.auth/login/totp');
    const totp = await browser.get('/.auth/login/totp');
    assert.match(totp.body, /href="\/\.auth\/login\/recovery">Use a recovery code instead/);
    const page = await browser.get('/.auth/login/recovery');
    assert.equal(page.status, 200);
    assert.match(page.body, /<label for="code">Recovery code/);
    return { browser, res: await browser.post('/.auth/login/recovery', { csrf: csrfOf(page.body), code: typed }) };
  };

  const first = await useCode(` ${code.toUpperCase().replaceAll('-', ' ')} `);
  assert.equal(first.res.status, 303);
  assert.equal(first.res.location, '/tickets/7');
  const me = JSON.parse((await first.browser.get('/.auth/me', { accept: 'application/json' })).body) as { amr: string[] };
  assert.deepEqual(me.amr, ['pwd', 'otp', 'rcv']);
  assert.equal(await gw.store.countRecoveryCodes(user.id), 9);

  const again = await useCode(code);
  assert.equal(again.res.status, 401);
  assert.equal(alertOf(again.res.body), 'That recovery code is not correct or has already been used.');
  const wrong = await useCode('0000-0000-0000-0000');
  assert.equal(wrong.res.status, 401);
  assert.equal((await gw.store.getUser(user.realm, user.id))?.failedCount, 2, 'wrong codes count towards the lockout');
  assert.equal((await useCode(recoveryCodes[4] as string)).res.status, 303, 'another code still works');
});
