/**
 * `regentra-gateway users …` end to end: the real binary as a child process, a YAML
 * config and a SQLite file in a temp dir, passwords on stdin. Every change is
 * audited with actor 'cli'; bad input gets a clear message and a non-zero exit code;
 * an account created by the CLI signs in through a gateway on the same store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openStore } from '../../src/store/index.ts';
import { verifyPassword } from '../../src/auth/password/hash.ts';
import { baseRawConfig, startGateway, HOSTS } from '../support/gateway.ts';
import { ecPem, key32 } from '../support/keys.ts';
import { runBin, type Run } from '../support/cli.ts';
import { Client, submitPassword } from '../auth/password/flow.ts';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-cli-'));
  writeFileSync(join(dir, 'session.key'), key32());
  writeFileSync(join(dir, 'signing.pem'), ecPem());
  writeFileSync(join(dir, 'encryption.key'), key32());
  const raw = baseRawConfig('http://127.0.0.1:9', 'http://127.0.0.1:9');
  const config = {
    ...raw,
    store: { driver: 'sqlite', path: join(dir, 'regentra.db') },
    keys: { session: ['file:session.key'], signing: [{ privateKey: 'file:signing.pem' }], encryption: [{ id: 'k1', key: 'file:encryption.key' }] },
  };
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(config));
  const users = (args: readonly string[], stdin = ''): Promise<Run> => runBin(['users', ...args, '--config', file], { stdin });
  return { dir, file, path: join(dir, 'regentra.db'), users };
}

const PASSWORD = 'tangerine submarine orchestra';

test('users: add, list, set-role, disable/enable, reset-password, reset-mfa, unlock, sign-out-everywhere', async (t) => {
  const { dir, path, users } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const added = await users(['add', 'staff', 'Ada@Example.com', '--name', 'Ada Lovelace', '--role', 'admin'], `${PASSWORD}\n`);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout, 'created: ada@example.com (staff)\n');
  assert.ok(!added.stdout.includes(PASSWORD) && !added.stderr.includes(PASSWORD), 'the password is never echoed');
  assert.equal((await users(['add', 'portal:acme', 'bob@acme.example', '--name', 'Bob'], `${PASSWORD}\r\n`)).code, 0);

  const list = await users(['list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as Array<{ realm: string; email: string; role: string | null; status: string; mfa: string; password: boolean }>;
  assert.deepEqual(
    rows.map((r) => [r.realm, r.email, r.role, r.status, r.mfa, r.password]),
    [
      ['portal:acme', 'bob@acme.example', null, 'active', 'none', true],
      ['staff', 'ada@example.com', 'admin', 'active', 'none', true],
    ],
  );
  const table = await users(['list', 'staff']);
  assert.match(
    table.stdout,
    /^REALM\s+EMAIL\s+NAME\s+ROLE\s+STATUS\s+MFA\s+LOCKED\s+MICROSOFT\nstaff\s+ada@example.com\s+Ada Lovelace\s+admin\s+active\s+none\s+no\s+-\n$/,
  );

  // the last admin who can reach the settings is never demoted or disabled (the pages share the rule)
  const last = await users(['set-role', 'staff', 'ada@example.com', 'member']);
  assert.equal(last.code, 1);
  assert.equal(last.stderr, 'users set-role: ada@example.com is the last admin who can reach the settings: make another account an admin first\n');
  assert.equal((await users(['disable', 'staff', 'ada@example.com'])).code, 1);
  assert.equal((await users(['add', 'staff', 'grace@example.com', '--name', 'Grace', '--role', 'admin'], `${PASSWORD}\n`)).code, 0);

  assert.equal((await users(['set-role', 'staff', 'ada@example.com', 'member'])).code, 0);
  assert.equal((await users(['disable', 'staff', 'ADA@example.com'])).code, 0);
  assert.equal((await users(['enable', 'staff', 'ada@example.com'])).code, 0);
  const reset = await users(['reset-password', 'staff', 'ada@example.com'], 'a brand new passphrase\n');
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal((await users(['reset-mfa', 'staff', 'ada@example.com'])).code, 0);
  assert.equal((await users(['unlock', 'staff', 'ada@example.com'])).code, 0);
  assert.equal((await users(['sign-out-everywhere', 'portal:acme', 'bob@acme.example'])).code, 0);

  const store = await openStore({ driver: 'sqlite', path });
  t.after(() => store.close());
  const ada = await store.getUserByEmail('staff', 'ada@example.com');
  assert.equal(ada?.role, 'member');
  assert.equal(ada?.status, 'active');
  assert.equal(await verifyPassword('a brand new passphrase', ada?.passwordHash ?? null), true);
  assert.ok((ada?.sessionsValidAfter ?? 0) > 0, 'a password reset ends sessions');
  assert.ok(((await store.getUserByEmail('portal:acme', 'bob@acme.example'))?.sessionsValidAfter ?? 0) > 0);
  const audit = await store.listAudit({ limit: 100 });
  assert.deepEqual(
    audit
      .filter((e) => e.userId === ada?.id)
      .map((e) => e.type)
      .reverse(),
    ['user.create', 'user.role', 'user.disable', 'user.enable', 'user.password.reset', 'user.mfa.reset', 'user.unlock'],
  );
  assert.ok(audit.filter((e) => e.outcome === 'success').every((e) => e.actor === 'cli'));
  assert.ok(!JSON.stringify(audit).includes('passphrase'), 'no password in the audit log');
});

test('users: clear errors and non-zero exit codes for bad input', async (t) => {
  const { dir, users } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal((await users(['add', 'staff', 'ada@example.com', '--name', 'Ada'], `${PASSWORD}\n`)).code, 0);

  const cases: Array<[string[], string, number, RegExp]> = [
    [['add', 'staff', 'ada@EXAMPLE.com', '--name', 'Ada'], PASSWORD, 1, /ada@example\.com already has an account in realm staff/],
    [
      ['add', 'portal:nope', 'x@example.com', '--name', 'X'],
      PASSWORD,
      1,
      /unknown realm "portal:nope": use one of staff, portal:acme, portal:globex, portal:initech/,
    ],
    [['add', 'crew', 'x@example.com', '--name', 'X'], PASSWORD, 1, /unknown realm "crew"/],
    [['add', 'staff', 'x@example.com', '--name', 'X'], 'password1234', 1, /too common/],
    [['add', 'staff', 'x@example.com', '--name', 'X'], 'short', 1, /at least 12 characters/],
    [['add', 'staff', 'not-an-email', '--name', 'X'], PASSWORD, 1, /"not-an-email" is not an email address/],
    [['add', 'portal:acme', 'x@example.com', '--name', 'X', '--role', 'admin'], PASSWORD, 1, /roles apply to staff accounts only/],
    [['add', 'staff', 'x@example.com', '--name', 'X', '--role', 'owner'], PASSWORD, 1, /role must be "admin" or "member"/],
    [['add', 'staff', 'x@example.com', '--name', 'X'], '', 2, /no password on stdin/],
    [['add', 'staff', 'x@example.com', '--name', 'X', '--password', PASSWORD], '', 2, /never taken from the command line/],
    [['add', 'staff', 'x@example.com'], PASSWORD, 2, /--name NAME is required/],
    [['disable', 'staff', 'ghost@example.com'], '', 1, /no user ghost@example\.com in realm staff/],
    [['set-role', 'staff', 'ada@example.com', 'root'], '', 1, /role must be "admin" or "member"/],
    [['disable', 'staff'], '', 2, /expected <realm> <email>/],
    [['frobnicate'], '', 2, /unknown command "frobnicate"/],
    [['list', '--colour'], '', 2, /Unknown option '--colour'/],
  ];
  // refused commands change nothing, so they can run side by side (four at a time)
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(
      cases.slice(i, i + 4).map(async ([args, stdin, code, message]) => {
        const run = await users(args, stdin && `${stdin}\n`);
        assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message, args.join(' '));
        assert.ok(!run.stderr.includes(PASSWORD), 'no password in messages');
      }),
    );
  }
  const list = JSON.parse((await users(['list', '--json'])).stdout) as unknown[];
  assert.equal(list.length, 1, 'nothing was created by the refused commands');
});

test('an account added with the CLI signs in through the gateway', async (t) => {
  const { dir, path, users } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal((await users(['add', 'portal:acme', 'carol@acme.example', '--name', 'Carol'], `${PASSWORD}\n`)).code, 0);
  const store = await openStore({ driver: 'sqlite', path });
  const gw = await startGateway({ store });
  t.after(async () => {
    await gw.close();
    await store.close();
  });
  const browser = new Client(gw, HOSTS.acme);
  assert.equal((await submitPassword(browser, 'carol@acme.example', PASSWORD)).location, '/.auth/login/enroll');
  assert.equal((await users(['disable', 'portal:acme', 'carol@acme.example'])).code, 0);
  // refused, and answered as a wrong password (a disabled account does not confirm its password)
  assert.equal((await submitPassword(new Client(gw, HOSTS.acme), 'carol@acme.example', PASSWORD)).status, 401);
});

test('users link refuses the personal-accounts tenant; sso redirect-uris needs only the config', async (t) => {
  const { dir, file, users } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal((await users(['add', 'staff', 'ada@example.com', '--name', 'Ada', '--no-password'])).code, 0);
  const refused = await users([
    'link',
    'staff',
    'ada@example.com',
    '--tid',
    '9188040D-6C67-4C5B-B112-36A304B66DAD',
    '--oid',
    'a1a1a1a1-0000-4000-8000-00000000000a',
  ]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /personal Microsoft accounts/);

  const uris = await runBin(['sso', 'redirect-uris', '--config', file]);
  assert.equal(uris.code, 0, uris.stderr);
  assert.match(uris.stdout, /\/\.auth\/callback\n/);
  assert.match(uris.stdout, /\/\.auth\/signed-out\n/);
});
