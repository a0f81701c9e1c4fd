/**
 * Configuration: bad configs are refused with exact, path-qualified messages (all
 * at once), a good one is deeply frozen with its references resolved, and the
 * check-config command says the same as a child process.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { loadConfigFile, loadConfigObject, loadConfigText } from '../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../src/errors.ts';
import { baseRawConfig, type RawConfig } from '../support/gateway.ts';
import { ecPem, edPem, key32 } from '../support/keys.ts';

/** a raw config as YAML gives it; tests mutate it freely */
type Raw = RawConfig;

const raw = (): Raw => baseRawConfig('http://127.0.0.1:3001', 'http://127.0.0.1:3002');
const HOST_MSG = 'must be a host name such as "support.acme.com" or a wildcard such as "*.support.example.com" (no scheme, port or path)';
const URL_MSG = 'must be an http:// or https:// origin such as "http://10.0.0.5:3000" (no path, credentials, query or fragment)';
const TRUST_MSG = 'must be an IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal';
const AMBIGUOUS_MSG =
  'must be "refuse" (the default: paths with a double-encoded escape such as "%252e", or a character that Unicode compatibility normalisation turns into ".", "/", "\\" or "%", are answered 400) ' +
  'or "allow" (forwarded as received: only for an upstream that decodes a path once and never applies Unicode normalisation)';
const PUBLIC_MSG = 'must be a normalised absolute path like "/assets/" (prefix) or "/health" (exact), without query, fragment, "..", "//" or %-escapes';

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    return [...err.issues];
  }
  assert.fail('the configuration was accepted');
}

const dir = mkdtempSync(join(tmpdir(), 'regentra-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bad configurations', () => {
  const cases: ReadonlyArray<readonly [string, (r: Raw) => void, ConfigIssue[]]> = [
    [
      'a host used twice',
      (r) => (r.sites.portal.clients[1].hosts = ['support.acme.test']),
      [{ path: 'sites.portal.clients[1].hosts[0]', message: '"support.acme.test" is already used by client "acme"' }],
    ],
    [
      'a host used twice in another case and with a trailing dot',
      (r) => (r.sites.portal.clients[1].hosts = ['STAFF.example.test.']),
      [{ path: 'sites.portal.clients[1].hosts[0]', message: '"staff.example.test" is already used by the staff site' }],
    ],
    [
      'unknown keys',
      (r) => ((r.server.colour = 'blue'), (r.sites.staff.extra = 1)),
      [
        { path: 'server', message: 'unknown key "colour"' },
        { path: 'sites.staff', message: 'unknown key "extra"' },
      ],
    ],
    ['an unknown top-level section', (r) => (r.site = {}), [{ path: '', message: 'unknown key "site"' }]],
    [
      'a portal without TOTP for password sign-in',
      (r) => (r.sites.portal.clients[0].mfaRequired = false),
      [
        {
          path: 'sites.portal.clients[0].mfaRequired',
          message:
            'password sign-in always requires two-step verification (TOTP), on every portal: remove "mfaRequired: false" (Microsoft sign-in leaves MFA to Entra)',
        },
      ],
    ],
    ['a missing upstream', (r) => delete r.sites.staff.upstream, [{ path: 'sites.staff.upstream', message: 'is required (string)' }]],
    ['a bad upstream URL', (r) => (r.sites.staff.upstream = 'not a url'), [{ path: 'sites.staff.upstream', message: URL_MSG }]],
    ['an upstream with credentials', (r) => (r.sites.portal.upstream = 'http://user:pw@10.0.0.1'), [{ path: 'sites.portal.upstream', message: URL_MSG }]],
    ['an upstream with a path', (r) => (r.sites.staff.upstream = 'http://10.0.0.1:3000/base'), [{ path: 'sites.staff.upstream', message: URL_MSG }]],
    ['an upstream of another scheme', (r) => (r.sites.staff.upstream = 'ftp://10.0.0.1/'), [{ path: 'sites.staff.upstream', message: URL_MSG }]],
    ['a wildcard in the middle', (r) => (r.sites.staff.hosts = ['a.*.example.test']), [{ path: 'sites.staff.hosts[0]', message: HOST_MSG }]],
    [
      'a host with a port or a scheme',
      (r) => (r.sites.portal.clients[0].hosts = ['acme.test:8080', 'https://acme.test']),
      [
        { path: 'sites.portal.clients[0].hosts[0]', message: HOST_MSG },
        { path: 'sites.portal.clients[0].hosts[1]', message: HOST_MSG },
      ],
    ],
    [
      'a session key of the wrong length',
      (r) => (r.keys.session = [key32(), Buffer.alloc(16).toString('base64')]),
      [{ path: 'keys.session[1]', message: 'must decode to exactly 32 bytes, got 16 (generate one with `regentra-gateway keys generate`)' }],
    ],
    [
      'a session key that is not base64',
      (r) => (r.keys.session = ['not base64!']),
      [{ path: 'keys.session[0]', message: 'must be 32 random bytes in base64 (generate one with `regentra-gateway keys generate`)' }],
    ],
    [
      'no session key',
      (r) => (r.keys.session = []),
      [{ path: 'keys.session', message: 'at least one session key is required (generate one with `regentra-gateway keys generate`)' }],
    ],
    [
      'an Ed25519 key for ES256',
      (r) => (r.keys.signing = [{ privateKey: edPem() }]),
      [{ path: 'keys.signing[0].privateKey', message: 'is an Ed25519 key; ES256 needs an EC P-256 key' }],
    ],
    [
      'an EC key for EdDSA',
      (r) => (r.keys.signing = [{ alg: 'EdDSA', privateKey: ecPem() }]),
      [{ path: 'keys.signing[0].privateKey', message: 'is an EC P-256 key; EdDSA needs an Ed25519 key' }],
    ],
    [
      'a P-384 key for ES256',
      (r) =>
        (r.keys.signing = [
          { privateKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
        ]),
      [{ path: 'keys.signing[0].privateKey', message: 'is an EC P-384 key; ES256 needs an EC P-256 key' }],
    ],
    [
      'a signing key that is not PEM',
      (r) => (r.keys.signing = [{ privateKey: 'hello' }]),
      [{ path: 'keys.signing[0].privateKey', message: 'is not a PEM private key (PKCS#8 "-----BEGIN PRIVATE KEY-----")' }],
    ],
    [
      'two signing keys with one kid',
      (r) =>
        (r.keys.signing = [
          { kid: 'a', privateKey: ecPem() },
          { kid: 'a', privateKey: ecPem() },
        ]),
      [{ path: 'keys.signing[1].kid', message: '"a" is used by another signing key' }],
    ],
    [
      'a missing environment variable',
      (r) => (r.keys.session = ['${REGENTRA_TEST_UNSET}']),
      [{ path: 'keys.session[0]', message: 'environment variable REGENTRA_TEST_UNSET is not set' }],
    ],
    [
      'an unreadable file: secret',
      (r) => (r.keys.encryption[0].key = `file:${join(dir, 'missing.key')}`),
      [{ path: 'keys.encryption[0].key', message: `cannot read secret file ${join(dir, 'missing.key')}: ENOENT` }],
    ],
    [
      'idle timeout above the absolute lifetime',
      (r) => (r.session = { secure: false, idleTimeoutSeconds: 7200, absoluteLifetimeSeconds: 3600 }),
      [{ path: 'session.idleTimeoutSeconds', message: 'must not exceed session.absoluteLifetimeSeconds (3600)' }],
    ],
    [
      'a revocation bound above 10 s',
      (r) => (r.session = { secure: false, revocationCheckSeconds: 60 }),
      [{ path: 'session.revocationCheckSeconds', message: 'must be at most 10 seconds' }],
    ],
    [
      'an http authority without allowInsecure',
      (r) => (r.entra = { authorityHost: 'http://127.0.0.1:9400' }),
      [{ path: 'entra.authorityHost', message: 'must be https:// (set entra.allowInsecure: true only for a local stand-in)' }],
    ],
    [
      'ambiguousPaths that is not "refuse" or "allow"',
      (r) => ((r.sites.staff.ambiguousPaths = true), (r.sites.portal.ambiguousPaths = 'Allow')),
      [
        { path: 'sites.staff.ambiguousPaths', message: AMBIGUOUS_MSG },
        { path: 'sites.portal.ambiguousPaths', message: AMBIGUOUS_MSG },
      ],
    ],
    [
      'public paths that are not normalised or are reserved',
      (r) => (r.sites.staff.publicPaths = ['/a/../b', '/.AUTH/x', 'assets/', '/a%2f']),
      [
        { path: 'sites.staff.publicPaths[0]', message: PUBLIC_MSG },
        { path: 'sites.staff.publicPaths[1]', message: 'must not be under /.auth/ (reserved for the gateway)' },
        { path: 'sites.staff.publicPaths[2]', message: PUBLIC_MSG },
        { path: 'sites.staff.publicPaths[3]', message: PUBLIC_MSG },
      ],
    ],
    [
      'a client id used twice',
      (r) => (r.sites.portal.clients[1].id = 'acme'),
      [{ path: 'sites.portal.clients[1].id', message: '"acme" is already the id of sites.portal.clients[0]' }],
    ],
    [
      'a bad client id',
      (r) => (r.sites.portal.clients[1].id = 'Globex Inc'),
      [{ path: 'sites.portal.clients[1].id', message: 'must be a short id of lower-case letters, digits and hyphens (e.g. "acme")' }],
    ],
    [
      'a central callback host without the portal Entra app',
      (r) => (r.sites.portal.centralCallbackHost = 'login.support.example.test'),
      [{ path: 'sites.portal.centralCallbackHost', message: 'needs sites.portal.entra (the multi-tenant app) to be configured' }],
    ],
    [
      'trusted proxies that are not addresses or ranges (each read as Fastify and the fast lane read them)',
      (r) => (r.server.trustedProxies = ['10.0.0.1', '10.0.0.0/33', 'load-balancer.internal', 'uniquelocal', '2001:db8::/32', '']),
      [
        { path: 'server.trustedProxies[1]', message: TRUST_MSG },
        { path: 'server.trustedProxies[2]', message: TRUST_MSG },
        { path: 'server.trustedProxies[5]', message: TRUST_MSG },
      ],
    ],
    ['a port given as a string', (r) => (r.server.port = '8080'), [{ path: 'server.port', message: 'Invalid input: expected number, received string' }]],
  ];
  for (const [name, mutate, expected] of cases) {
    test(name, () => {
      const r = raw();
      mutate(r);
      assert.deepEqual(
        issuesOf(() => loadConfigObject(r, { env: {} })),
        expected,
      );
    });
  }

  test('several problems are reported at once, each with its path', () => {
    const r = raw();
    r.keys.session = ['${REGENTRA_TEST_UNSET}'];
    r.server.colour = 'blue';
    delete r.sites.staff.upstream;
    const issues = issuesOf(() => loadConfigObject(r, { env: {} }));
    assert.deepEqual(issues, [
      { path: 'keys.session[0]', message: 'environment variable REGENTRA_TEST_UNSET is not set' },
      { path: 'server', message: 'unknown key "colour"' },
      { path: 'sites.staff.upstream', message: 'is required (string)' },
    ]);
  });

  test('cross-field problems are all reported too', () => {
    const r = raw();
    r.sites.portal.clients[1].hosts = ['support.acme.test'];
    r.keys.session = ['${REGENTRA_TEST_UNSET}', 'short'];
    r.session = { secure: false, idleTimeoutSeconds: 7200, absoluteLifetimeSeconds: 3600 };
    const err = (() => {
      try {
        loadConfigObject(r, { env: {}, source: '/etc/regentra/gateway.yaml' });
      } catch (e) {
        return e as ConfigError;
      }
      return assert.fail('accepted');
    })();
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ['keys.session[0]', 'sites.portal.clients[1].hosts[0]', 'keys.session[1]', 'session.idleTimeoutSeconds'],
    );
    assert.equal(err.message.split('\n')[0], 'invalid configuration in /etc/regentra/gateway.yaml (4 problems)');
    assert.match(err.message, /\n {2}- sites\.portal\.clients\[1\]\.hosts\[0\]: "support\.acme\.test" is already used by client "acme"/);
  });

  test('YAML syntax errors and duplicate keys are reported with their line', () => {
    const issues = issuesOf(() => loadConfigText('server:\n  port: 1\n  port: 2\n'));
    assert.equal(issues[0]?.path, 'line 3');
    assert.match(issues[0]?.message ?? '', /unique/i);
  });

  test('a secret never appears in an error message', () => {
    const r = raw();
    r.keys.session = ['${SESSION_KEY}'];
    const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eA'; // valid base64, wrong length
    try {
      loadConfigObject(r, { env: { SESSION_KEY: secret } });
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes(secret));
    }
  });
});

describe('a good configuration', () => {
  function assertDeepFrozen(value: unknown, path = 'config'): void {
    if (value === null || typeof value !== 'object') return;
    assert.ok(Object.isFrozen(value), `${path} is not frozen`);
    for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${path}.${k}`);
  }

  test('is frozen all the way down, with defaults filled in', () => {
    const { config, warnings } = loadConfigObject(raw());
    assertDeepFrozen(config);
    assert.equal(config.session.idleTimeoutSeconds, 1800);
    assert.equal(config.identity.ttlSeconds, 60);
    assert.equal(config.sites.staff.timeouts.responseMs, 30_000);
    assert.throws(() => {
      (config.sites.staff.hosts as string[]).push('evil.test');
    }, TypeError);
    // inline secrets are accepted but warned about
    assert.ok(warnings.some((w) => w.startsWith('keys.session[0]: secret given inline')));
  });

  test('does not modify its input', () => {
    const r = raw();
    const before = JSON.stringify(r);
    loadConfigObject(r);
    assert.equal(JSON.stringify(r), before);
    // nothing of it is frozen either (the loader passes what holds no reference on to the schema uncopied)
    const frozen = (v: unknown): boolean => v !== null && typeof v === 'object' && (Object.isFrozen(v) || Object.values(v).some(frozen));
    assert.ok(!frozen(r));
  });

  test('host names are lower-cased and lose a trailing dot', () => {
    const r = raw();
    r.sites.staff.hosts = ['Staff.Example.TEST.'];
    assert.deepEqual(loadConfigObject(r).config.sites.staff.hosts, ['staff.example.test']);
  });

  test('${ENV} and file: references are resolved (file: relative to the config file)', () => {
    const session = key32();
    const enc = key32();
    const pem = ecPem();
    writeFileSync(join(dir, 'signing.pem'), `${pem}\n\n`);
    writeFileSync(join(dir, 'enc.key'), `${enc}\n`);
    const r = raw();
    r.keys = { session: ['${SESSION_KEY}'], signing: [{ privateKey: 'file:signing.pem' }], encryption: [{ id: 'k1', key: `file:${join(dir, 'enc.key')}` }] };
    r.store = { driver: 'sqlite' };
    r.dataDir = './state';
    writeFileSync(join(dir, 'refs.yaml'), stringify(r));
    const { config, warnings } = loadConfigFile(join(dir, 'refs.yaml'), { SESSION_KEY: session });
    assert.deepEqual(config.keys.session, [session]);
    assert.equal(config.keys.signing[0]?.privateKey, pem.trim());
    assert.equal(config.keys.encryption[0]?.key, enc);
    assert.equal(config.dataDir, join(dir, 'state'));
    assert.equal(config.store.driver === 'sqlite' && config.store.path, join(dir, 'state', 'regentra.db'));
    assert.deepEqual(
      warnings.filter((w) => w.includes('inline')),
      [],
    );
  });

  test('an empty environment variable counts as missing', () => {
    const r = raw();
    r.keys.session = ['${SESSION_KEY}'];
    assert.deepEqual(
      issuesOf(() => loadConfigObject(r, { env: { SESSION_KEY: '' } })),
      [{ path: 'keys.session[0]', message: 'environment variable SESSION_KEY is not set' }],
    );
  });
});

describe('config/example.yaml', () => {
  const example = fileURLToPath(new URL('../../config/example.yaml', import.meta.url));
  const pemFile = join(dir, 'example-signing.pem');

  test('validates with its secrets provided', () => {
    writeFileSync(pemFile, ecPem());
    // the example reads its signing key from /run/secrets; point it at a test file instead
    const text = readFileSync(example, 'utf8').replace('file:/run/secrets/regentra-signing.pem', `file:${pemFile}`);
    const { config, warnings } = loadConfigText(text, {
      env: {
        REGENTRA_DATABASE_URL: 'postgres://regentra:pw@db.internal:5432/regentra',
        REGENTRA_SESSION_KEY: key32(),
        REGENTRA_ENCRYPTION_KEY: key32(),
        REGENTRA_PORTAL_ENTRA_SECRET: 'entra-secret',
      },
      baseDir: dir,
    });
    assert.deepEqual(warnings, []);
    assert.equal(config.session.secure, true);
    assert.equal(config.sites.portal?.clients.length, 2);
  });

  test('names every secret as a reference, never inline', () => {
    const issues = issuesOf(() => loadConfigFile(example, {}));
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['keys.encryption[0].key', 'keys.session[0]', 'keys.signing[0].privateKey', 'sites.portal.entra.clientSecret', 'store.url']);
  });
});

describe('regentra-gateway check-config', () => {
  const bin = fileURLToPath(new URL('../../bin/regentra-gateway.js', import.meta.url));
  const run = promisify(execFile);

  test('exits 0 for a good file', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, stringify(raw()));
    const { stdout } = await run(process.execPath, [bin, 'check-config', '--config', file]);
    assert.match(stdout, /^configuration OK: /);
  });

  test('exits non-zero with every message for a bad file', async () => {
    const r = raw();
    r.sites.portal.clients[1].hosts = ['support.acme.test'];
    r.keys.session = ['${REGENTRA_TEST_UNSET}'];
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, stringify(r));
    const env = { ...process.env };
    delete env.REGENTRA_TEST_UNSET;
    await assert.rejects(run(process.execPath, [bin, 'check-config', '--config', file], { env }), (err: { code: number; stderr: string }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, /invalid configuration in .*bad\.yaml/);
      assert.match(err.stderr, /keys\.session\[0\]: environment variable REGENTRA_TEST_UNSET is not set/);
      assert.match(err.stderr, /sites\.portal\.clients\[1\]\.hosts\[0\]: "support\.acme\.test" is already used by client "acme"/);
      return true;
    });
  });

  test('exits non-zero for a missing file', async () => {
    await assert.rejects(run(process.execPath, [bin, 'check-config', '--config', join(dir, 'nope.yaml')]), (err: { code: number; stderr: string }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, /cannot read .*nope\.yaml: ENOENT/);
      return true;
    });
  });
});
