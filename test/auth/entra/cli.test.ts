// `regentra-gateway sso …`: status without secrets, the break-glass switches, audited as 'cli'.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startEnv, STAFF_APP, TENANTS, type Env } from './support.ts';
import { runSsoCommand } from '../../../src/cli/sso.ts';
import { registeredRedirectUris } from '../../../src/auth/entra/index.ts';
import { STAFF_SSO_KEY, type StaffSsoSettings } from '../../../src/auth/policy.ts';
import type { Io } from '../../../src/main.ts';

function io(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        add(String(chunk));
        cb();
      },
    });
  return { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), stdin: process.stdin, out: () => out, err: () => err };
}

describe('sso CLI', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { ssoOnly: true, autoProvision: true } });
  });
  after(() => env.close());

  const run = async (...args: string[]) => {
    const o = io();
    const code = await runSsoCommand(args, { config: env.gw.config, store: env.gw.store, io: o });
    return { code, out: o.out(), err: o.err() };
  };
  const staff = async () => (await env.gw.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY))?.value;

  test('status shows staff and portal SSO, never the secret', async () => {
    const r = await run('status');
    assert.equal(r.code, 0);
    assert.match(r.out, /enabled:\s+yes/);
    assert.match(r.out, /SSO only:\s+yes/);
    assert.match(r.out, new RegExp(`tenant ID:\\s+${TENANTS.staff}`));
    assert.match(r.out, new RegExp(`client ID:\\s+${STAFF_APP.clientId}`));
    assert.match(r.out, /client secret:\s+set/);
    assert.match(r.out, new RegExp(`acme: SSO on, tenant ${TENANTS.acme}`));
    assert.match(r.out, /globex: SSO off/);
    const sealed = (await staff())?.clientSecretEnc ?? '';
    assert.ok(!r.out.includes(STAFF_APP.clientSecret) && !r.out.includes(sealed));
  });

  test('disable-sso-only turns SSO-only off (and says so when it already is)', async () => {
    const r = await run('disable-sso-only');
    assert.equal(r.code, 0);
    const s = await staff();
    assert.equal(s?.ssoOnly, false);
    assert.equal(s?.enabled, true, 'SSO itself stays on');
    assert.equal(s?.updatedBy, 'cli');
    assert.match((await run('disable-sso-only')).out, /already off/);
    const audit = (await env.gw.store.listAudit({ type: 'settings.change' })).filter((a) => a.actor === 'cli');
    assert.equal(audit.length, 1);
    // the same shape as a change made on the admin page (src/settings/audit.ts)
    assert.deepEqual(audit[0]?.details, {
      setting: 'sso.staff',
      action: 'sso-only off (break glass)',
      changes: { ssoOnly: { from: true, to: false } },
      by: 'cli',
      via: 'cli',
    });
  });

  test('disable turns staff SSO off', async () => {
    await env.setStaff({ ssoOnly: true });
    assert.equal((await run('disable')).code, 0);
    const s = await staff();
    assert.equal(s?.enabled, false);
    assert.equal(s?.ssoOnly, false);
    assert.equal(s?.tenantId, TENANTS.staff, 'the rest of the settings are kept');
    assert.match((await run('disable')).out, /already off/);
  });

  test('redirect-uris prints every URI of each app registration, as the admin pages list them', async () => {
    const r = await run('redirect-uris');
    assert.equal(r.code, 0, r.err);
    const list = registeredRedirectUris(env.gw.config);
    for (const uri of [...list.staff.uris, ...list.portal!.uris]) assert.ok(r.out.includes(`  ${uri}\n`), uri);
    assert.match(r.out, /Staff app[^\n]*\n {2}http:\/\/staff\.example\.test\/\.auth\/callback\n {2}http:\/\/staff\.example\.test\/\.auth\/signed-out\n/);
    assert.match(r.out, /\/\.auth\/consent\/callback/);
    assert.match(r.out, /login_hint and xms_edov/);
    assert.match(r.out, /wildcard hosts cannot be registered/);
    assert.equal((await run('redirect-uris', 'extra')).code, 2);
  });

  test('unknown commands and extra arguments print the usage', async () => {
    for (const args of [[], ['nope'], ['status', 'extra']]) {
      const r = await run(...args);
      assert.equal(r.code, 2);
      assert.match(r.err, /usage: regentra-gateway sso/);
    }
  });
});
