// SSO-only: /.auth/sso becomes the only way in for staff — the password endpoint refuses
// server-side (not just a hidden form) — and the CLI break glass turns it off again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { HOSTS, last, startEnv, TENANTS, USERS, type Browser, type Env } from './support.ts';
import { hashPassword } from '../../../src/auth/password/hash.ts';
import { runSsoCommand } from '../../../src/cli/sso.ts';
import type { Io } from '../../../src/main.ts';

const PASSWORD = 'correct horse battery staple 42';

function io(): Io & { out: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stdout: sink, stderr: sink, stdin: process.stdin, out: () => text };
}

describe('SSO-only for staff', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { ssoOnly: true } });
    await env.gw.store.createUser({
      realm: 'staff',
      email: 'ada@staff.test',
      displayName: 'Ada',
      role: 'admin',
      passwordHash: await hashPassword(PASSWORD),
      externalTid: TENANTS.staff,
      externalOid: USERS.ada.oid,
    });
  });
  after(() => env.close());

  async function postPassword(browser: Browser) {
    const form = await browser.open(`http://${HOSTS.staff}/.auth/login?rd=/`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const page = await browser.open(`http://${HOSTS.staff}/.auth/login`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, email: 'ada@staff.test', password: PASSWORD }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${HOSTS.staff}` },
    });
    return { form, page };
  }

  test('the policy says SSO only', async () => {
    const staff = env.core.sites.lookup(HOSTS.staff);
    assert.ok(staff);
    assert.deepEqual(await env.core.policy.forSite(staff), { sso: true, password: false });
  });

  test('the sign-in page offers only Microsoft, and a posted password is refused by the server', async () => {
    const browser = env.browser();
    const { form, page } = await postPassword(browser);
    assert.match(form.body, /Sign in with Microsoft/);
    assert.doesNotMatch(form.body, /name="password"/);
    assert.equal(page.status, 403);
    assert.ok(!String(page.headers['set-cookie'] ?? '').includes('regentra_session='));
    assert.equal((await browser.open(`http://${HOSTS.staff}/.auth/me`, { headers: { accept: 'application/json' } })).status, 401);
  });

  test('/.auth/sso still signs in', async () => {
    assert.equal(last(await env.browser().signIn(HOSTS.staff, USERS.ada.oid)).status, 200);
  });

  test('break glass: `sso disable-sso-only` lets passwords in again, and is audited', async () => {
    const out = io();
    assert.equal(await runSsoCommand(['disable-sso-only'], { config: env.gw.config, store: env.gw.store, io: out }), 0);
    assert.match(out.out(), /SSO-only is now off/);
    env.core.policy.invalidate();
    const staff = env.core.sites.lookup(HOSTS.staff);
    assert.ok(staff);
    assert.deepEqual(await env.core.policy.forSite(staff), { sso: true, password: true });
    const { page } = await postPassword(env.browser());
    assert.equal(page.status, 303, 'the password step is accepted (the TOTP step follows)');
    const audit = (await env.gw.store.listAudit({ type: 'settings.change' }))[0];
    assert.equal(audit?.actor, 'cli');
  });
});
