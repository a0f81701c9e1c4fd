/**
 * The first minutes with the command: `--help`, `help`, `help <command>` and
 * `<command> --help` print usage (stdout, exit 0) without any configuration; an unknown
 * command says so and shows the overview (stderr, exit 2); and the launcher, started by
 * an older Node.js, says which version it needs instead of failing with a SyntaxError:
 * its syntax is checked against ES2020 (what Node 14 parses), and its answer by running
 * it with Node reporting an older version.
 * Every case spawns the real binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'acorn';
import { BIN, runBin, type Run } from '../support/cli.ts';

function run(args: readonly string[], nodeArgs: readonly string[] = []): Promise<Run> {
  // no GATEWAY_CONFIG: help must not need one
  const env = { ...process.env };
  delete env.GATEWAY_CONFIG;
  return runBin(args, { nodeArgs, env });
}

test('--help, -h, help: the overview of every command, exit 0, no configuration needed', async () => {
  for (const args of [['--help'], ['-h'], ['help'], ['--config', '/nonexistent.yaml', '--help']]) {
    const r = await run(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: regentra-gateway \[<command>\] \[--config FILE\]/, args.join(' '));
    for (const cmd of ['serve', 'check-config', 'keys generate', 'users <command>', 'sso <command>', 'help \\[<command>\\]'])
      assert.match(r.stdout, new RegExp(`\\n  ${cmd}`), `${args.join(' ')} lists ${cmd}`);
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
    for (const args of [
      [cmd, '--help'],
      ['help', cmd],
    ]) {
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

test('the launcher is a plain script any Node.js from 14 on parses: ES2020, no static import', () => {
  // throws a SyntaxError on anything newer, or on import/export (a script, not a module)
  parse(readFileSync(BIN, 'utf8'), { ecmaVersion: 2020, sourceType: 'script', allowHashBang: true });
});

test('an older Node.js is told which version is needed (no SyntaxError)', async () => {
  // Node 24 reporting itself as 20.11.1 before the launcher runs
  const older = `data:text/javascript,${encodeURIComponent("Object.defineProperty(process.versions, 'node', { value: '20.11.1' }); Object.defineProperty(process, 'version', { value: 'v20.11.1' });")}`;
  for (const args of [['--help'], ['serve', '--config', 'config/demo.yaml']]) {
    const r = await run(args, [`--import=${older}`]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /needs Node\.js 24 or newer[\s\S]*this is Node\.js v20\.11\.1/);
    assert.match(r.stderr, /npx regentra-gateway/);
    assert.doesNotMatch(r.stderr, /SyntaxError|ERR_/);
    assert.equal(r.stdout, '');
  }
});
