/**
 * What the container image does, without a Docker engine: the files the
 * Dockerfile's final stage copies are copied to a temp directory, with a
 * node_modules that holds the production dependencies only (what
 * `npm ci --omit=dev` installs), and the gateway is started from there with a
 * production-like configuration: it must pass check-config, start, proxy,
 * answer the Dockerfile's own HEALTHCHECK, write nothing outside its data
 * directory, and stop cleanly on the STOPSIGNAL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { contextIncludes, copyLines, execForm, readDockerfile, single, type Stage } from './dockerfile.ts';
import { NODE_FLAGS } from '../../src/runtime/node-flags.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const stages = readDockerfile(join(ROOT, 'Dockerfile'));
const finalStage = stages.at(-1) as Stage;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** every file under dir, relative to it, skipping `skip` */
function listFiles(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (full === skip) continue;
      if (entry.isDirectory()) walk(full);
      else out.push(`${relative(dir, full)}:${statSync(full).mtimeMs}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** the production dependency tree, as `npm ls --omit=dev` sees it: package directories relative to ROOT */
async function productionPackages(): Promise<string[]> {
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--parseable', '--all'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return [
    ...new Set(
      stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && l !== ROOT)
        .map((l) => relative(ROOT, l)),
    ),
  ].sort();
}

/** lay out the image's /app as the final stage's COPY lines do */
async function layOutImage(app: string): Promise<string[]> {
  const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
  const packages = await productionPackages();
  for (const copy of copyLines(finalStage)) {
    if (copy.from !== null) {
      const stage = stages.find((s) => s.name === copy.from);
      assert.ok(stage, `COPY --from=${copy.from} names a stage`);
      const workdir = single(stage, 'WORKDIR');
      assert.deepEqual(copy.sources, [`${workdir}/node_modules`], "only the dependency stage's node_modules is copied from another stage");
      // each package without its nested node_modules (those are listed on their own)
      for (const p of packages) {
        cpSync(join(ROOT, p), join(app, p), { recursive: true, filter: (src) => !relative(join(ROOT, p), src).startsWith('node_modules') });
      }
      continue;
    }
    for (const source of copy.sources) {
      assert.ok(contextIncludes(dockerignore, source), `.dockerignore lets ${source} into the build context`);
      const target = copy.dest.endsWith('/') ? join(app, copy.dest, source) : join(app, copy.dest);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(ROOT, source), target, { recursive: true });
    }
  }
  return packages;
}

/** start a child and wait for the line that matches */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${out} stderr: ${err}`)), timeoutMs);
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; stdout: ${out} stderr: ${err}`));
    });
  });
}

let work: string;
let app: string;
let packages: string[];
let upstream: Upstream;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'regentra-image-'));
  app = join(work, 'app');
  mkdirSync(app);
  packages = await layOutImage(app);
  upstream = await startUpstream('staff-app');
});
after(async () => {
  await upstream.close();
  rmSync(work, { recursive: true, force: true });
});

describe('production install (the image, without Docker)', () => {
  test('the Dockerfile builds on node:24-slim, installs production dependencies only, runs as uid 10001', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const s of stages) assert.equal(s.base, 'node:24-slim');
    const deps = stages.find((s) => s.name === copyLines(finalStage).find((c) => c.from)?.from) as Stage;
    assert.deepEqual(
      copyLines(deps).flatMap((c) => c.sources),
      ['package.json', 'package-lock.json'],
    );
    assert.match(
      deps.instructions
        .filter((i) => i.keyword === 'RUN')
        .map((i) => i.args)
        .join('\n'),
      /npm ci --omit=dev/,
    );
    assert.equal(single(finalStage, 'USER'), '10001:10001');
    assert.equal(single(finalStage, 'VOLUME'), '["/data"]');
    assert.equal(single(finalStage, 'EXPOSE'), '8080 9090');
    assert.equal(single(finalStage, 'STOPSIGNAL'), 'SIGTERM');
    assert.deepEqual(execForm(single(finalStage, 'CMD') ?? ''), [
      'node',
      ...NODE_FLAGS,
      'bin/regentra-gateway.js',
      'serve',
      '--config',
      '/config/gateway.yaml',
    ]);
    assert.equal(
      finalStage.instructions.some((i) => i.keyword === 'RUN' && /npm|curl|wget/.test(i.args)),
      false,
      'nothing is installed in the final stage',
    );
  });

  test('the laid-out node_modules holds every production dependency and no development one', () => {
    for (const name of Object.keys(pkg.dependencies)) assert.ok(packages.includes(`node_modules/${name}`), `${name} is installed`);
    for (const name of Object.keys(pkg.devDependencies)) {
      assert.equal(existsSync(join(app, 'node_modules', name)), false, `dev dependency ${name} must not be installed`);
    }
    // nothing above the temp dir could supply a package
    for (let dir = work; dir !== dirname(dir); dir = dirname(dir))
      assert.equal(existsSync(join(dirname(dir), 'node_modules')), false, `${dirname(dir)}/node_modules exists`);
  });

  test('check-config, serve, proxy, HEALTHCHECK and a clean stop, from the production install alone', async () => {
    const config = join(work, 'config');
    const data = join(work, 'data');
    mkdirSync(config);
    mkdirSync(data);
    const node = process.execPath;
    const baseEnv = { PATH: dirname(node), NODE_ENV: 'production', HOME: work };

    // keys, generated by the installed command
    const keys = (await run(node, ['bin/regentra-gateway.js', 'keys', 'generate'], { cwd: app, env: baseEnv })).stdout;
    const session = /^REGENTRA_SESSION_KEY=(.+)$/m.exec(keys)?.[1] as string;
    const encryption = /^REGENTRA_ENCRYPTION_KEY=(.+)$/m.exec(keys)?.[1] as string;
    const pem = keys.slice(keys.indexOf('-----BEGIN PRIVATE KEY-----'));
    writeFileSync(join(config, 'signing.pem'), pem, { mode: 0o600 });
    writeFileSync(
      join(config, 'gateway.yaml'),
      [
        'server: { host: 127.0.0.1, port: 0, publicScheme: https, trustedProxies: [127.0.0.1] }',
        'ops: { host: 127.0.0.1, port: 0 }',
        `dataDir: ${data}`,
        'keys:',
        '  session: ["${REGENTRA_SESSION_KEY}"]',
        '  signing: [{ privateKey: "file:signing.pem" }]',
        '  encryption: [{ id: k1, key: "${REGENTRA_ENCRYPTION_KEY}" }]',
        'sites:',
        `  staff: { hosts: [staff.example.com], upstream: "${upstream.url}", publicPaths: [/health] }`,
        '',
      ].join('\n'),
    );
    const env = { ...baseEnv, REGENTRA_SESSION_KEY: session, REGENTRA_ENCRYPTION_KEY: encryption };
    const configFile = join(config, 'gateway.yaml');

    const check = await run(node, ['bin/regentra-gateway.js', 'check-config', '--config', configFile], { cwd: app, env });
    assert.match(check.stdout, /^configuration OK/);

    const before = listFiles(app, '');
    const [cmd, ...args] = execForm(single(finalStage, 'CMD') ?? '');
    assert.equal(cmd, 'node');
    // the image passes the gateway's Node.js flags, as the shebang and `npm start` do (test/ops/runtime.test.ts)
    for (const f of NODE_FLAGS) assert.ok(args.includes(f), `${f} in the image's CMD`);
    const child = spawn(
      node,
      args.map((a) => (a === '/config/gateway.yaml' ? configFile : a)),
      { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const m = await waitForLine(child, /listening on (http:\/\/\S+) \(ops on (http:\/\/[^)\s]+)\)/, 20_000);
      const [url, opsUrl] = [m[1] as string, m[2] as string];
      const opsPort = new URL(opsUrl).port;

      assert.equal((await request(`${opsUrl}/healthz`)).statusCode, 200);
      assert.equal((await request(`${opsUrl}/readyz`)).statusCode, 200);
      const proxied = await request(`${url}/health`, { headers: { host: 'staff.example.com' } });
      assert.equal(proxied.statusCode, 200);
      assert.equal(proxied.headers['x-upstream'], 'staff-app');
      await proxied.body.dump();
      const gated = await request(`${url}/private`, { headers: { host: 'staff.example.com' } });
      assert.equal(gated.statusCode, 401);
      await gated.body.dump();

      // the image's own HEALTHCHECK command, pointed at this ops port
      const healthcheck = execForm((single(finalStage, 'HEALTHCHECK') ?? '').replace(/^.*?CMD /, ''));
      assert.equal(healthcheck[0], 'node', 'the healthcheck needs nothing but node');
      await run(node, healthcheck.slice(1), { cwd: app, env: { ...env, REGENTRA_OPS_PORT: opsPort } });

      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill(single(finalStage, 'STOPSIGNAL') as NodeJS.Signals);
      assert.equal(await exited, 0, 'a clean stop on the STOPSIGNAL');
      await assert.rejects(run(node, healthcheck.slice(1), { cwd: app, env: { ...env, REGENTRA_OPS_PORT: opsPort } }), 'the healthcheck fails once stopped');

      assert.deepEqual(listFiles(app, ''), before, 'nothing was written under /app (read-only root filesystem)');
      assert.ok(existsSync(join(data, 'regentra.db')), 'the SQLite database lives in the data volume');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
