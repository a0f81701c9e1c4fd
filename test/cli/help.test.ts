/**
 * The first minutes with the command: `--help`, `help`, `help <command>` and
 * `<command> --help` print usage (stdout, exit 0) without any configuration; an unknown
 * command says so and shows the overview (stderr, exit 2); and the launcher, started by
 * an older Node.js, says which version it needs instead of failing with a SyntaxError.
 * Every case spawns the real binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/regentra-gateway.js', import.meta.url));

function run(args: readonly string[], node = process.execPath): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // no GATEWAY_CONFIG: help must not need one
    const env = { ...process.env };
    delete env.GATEWAY_CONFIG;
    const child = spawn(node, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('--help, -h, help: the overview of every command, exit 0, no configuration needed', async () => {
  for (const args of [['--help'], ['-h'], ['help'], ['--config', '/nonexistent.yaml', '--help']]) {
    const r = await run(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: regentra-gateway \[<command>\] \[--config FILE\]/, args.join(' '));
    for (const cmd of ['serve', 'check-config', 'keys generate', 'users <command>', 'sso <command>', 'help \\[<command>\\]']) assert.match(r.stdout, new RegExp(`\\n  ${cmd}`), `${args.join(' ')} lists ${cmd}`);
    assert.equal(r.stderr, '');
  }
});

test('<command> --help and help <command>: that command’s usage, exit 0', async () => {
  const cases: ReadonlyArray<[string, RegExp]> = [
    ['users', /^usage: regentra-gateway users <command>[\s\S]*reset-mfa <realm> <email>[\s\S]*link <realm> <email> --tid/],
    ['sso', /^usage: regentra-gateway sso <command>[\s\S]*disable-sso-only/],
    ['serve', /^usage: regentra-gateway \[serve\] \[--config FILE\][\s\S]*SIGHUP reloads/],
    ['check-config', /^usage: regentra-gateway check-config/],
    ['keys', /^usage: regentra-gateway keys generate/],
  ];
  for (const [cmd, usage] of cases) {
    for (const args of [[cmd, '--help'], ['help', cmd]]) {
      const r = await run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, usage, args.join(' '));
    }
  }
});

test('an unknown command: said on stderr with the overview, exit 2', async () => {
  for (const args of [['frobnicate'], ['frobnicate', '--help'], ['help', 'frobnicate']]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /"frobnicate"/);
    assert.match(r.stderr, /usage: regentra-gateway \[<command>\]/);
    assert.equal(r.stdout, '');
  }
});

const OLD_NODE = '/usr/bin/node';
test('an older Node.js says which version is needed (no SyntaxError)', { skip: !existsSync(OLD_NODE) && `no ${OLD_NODE}` }, async (t) => {
  const version = await new Promise<string>((resolve, reject) => {
    const c = spawn(OLD_NODE, ['--version']);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(out.trim()));
  });
  if (Number(version.replace(/^v/, '').split('.')[0]) >= 24) return t.skip(`${OLD_NODE} is ${version}, not older than 24`);
  for (const args of [['--help'], ['serve', '--config', 'config/demo.yaml']]) {
    const r = await run(args, OLD_NODE);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, new RegExp(`needs Node\\.js 24 or newer[\\s\\S]*this is Node\\.js ${version.replace(/\./g, '\\.')}`));
    assert.match(r.stderr, /npx regentra-gateway/);
    assert.doesNotMatch(r.stderr, /SyntaxError|ERR_/);
    assert.equal(r.stdout, '');
  }
});
