/**
 * Accounts live in the store: with a SQLite file, a user enrolled through the pages
 * signs in again after a restart (new process state, same file and keys). At rest,
 * the raw database bytes (main file and WAL) contain neither the password nor the
 * TOTP secret: the password is an scrypt hash, the secret is sealed (v1.<keyId>.…).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { openStore } from '../../../src/store/index.ts';
import { key32 } from '../../support/keys.ts';
import { Client, codeAt, createUser, csrfOf, manualClock, PASSWORD, secretOf, signIn, submitPassword } from './flow.ts';

test('an enrolled account survives a restart, and its secrets are not readable in the database file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'regentra.db');
  const clock = manualClock();
  let keys: unknown;
  const configure = (raw: Record<string, unknown>) => {
    keys ??= { ...(raw.keys as object), session: [key32()], encryption: [{ id: 'disk1', key: key32() }] };
    return { ...raw, keys };
  };

  const store1 = await openStore({ driver: 'sqlite', path });
  const gw1 = await startGateway({ store: store1, now: clock.now, configure });
  const user = await createUser(gw1, HOSTS.staff, { email: 'durable@example.com' });
  const browser = new Client(gw1, HOSTS.staff);
  assert.equal((await submitPassword(browser, user.email, PASSWORD)).location, '/.auth/login/enroll');
  const enrol = await browser.get('/.auth/login/enroll');
  const secret = secretOf(enrol.body);
  assert.equal((await browser.post('/.auth/login/enroll', { csrf: csrfOf(enrol.body), code: await codeAt(secret, clock.t) })).status, 200);
  await gw1.close();
  await store1.close();

  const bytes = Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith('regentra.db'))
      .map((f) => readFileSync(join(dir, f))),
  );
  assert.ok(bytes.includes('durable@example.com'), 'the test reads the right file');
  assert.ok(bytes.includes('v1.disk1.'), 'a sealed secret is stored');
  assert.ok(bytes.includes('$scrypt$ln='), 'a password hash is stored');
  assert.ok(!bytes.includes(secret), 'no TOTP secret in clear');
  assert.ok(!bytes.includes(Buffer.from(secret).toString('base64')), 'nor base64 of it');
  assert.ok(!bytes.includes(PASSWORD), 'no password in clear');

  const store2 = await openStore({ driver: 'sqlite', path });
  const gw2 = await startGateway({ store: store2, now: clock.now, configure });
  t.after(async () => {
    await gw2.close();
    await store2.close();
  });
  clock.advance(30_000);
  const done = await signIn(new Client(gw2, HOSTS.staff), user.email, secret, clock.t, '/after-restart');
  assert.equal(done.status, 303);
  assert.equal(done.location, '/after-restart');
  assert.equal(await store2.countRecoveryCodes(user.id), 10);
});
