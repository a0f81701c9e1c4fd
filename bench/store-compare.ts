/**
 * Benchmark: the authenticated proxy path with the PostgreSQL store vs the SQLite
 * store (issue "Production deployment", part 2). The two must serve it at the same
 * rate: the store is not on the hot path (a session is a sealed cookie; revocation
 * state is cached for `session.revocationCheckSeconds`).
 *
 * Two gateway child processes — the shipped binary, `regentra-gateway serve`, one on
 * a SQLite file and one on a fresh PostgreSQL schema — in front of one upstream child
 * (a tiny node:http server). A user signs in over HTTP on each (password + TOTP);
 * autocannon (in this process) then sends a small GET with that session cookie. The
 * two gateways are measured in rounds, each round both back to back (in alternating
 * order), so that drift in the machine's load hits both alike: the rows give the median
 * round, the ratio is the median of the rounds' ratios.
 * Each row also says how many store operations the gateway made per 1,000 requests
 * (from its ops /metrics), which is what "not on the hot path" means.
 *
 *   node bench/store-compare.ts [--duration S] [--rounds N] [--connections C] [--warmup S]
 *
 * Exports one function per scenario (rows of { name, reqPerSec, p50Ms, p99Ms, extra })
 * and the helpers bench/hosts-10k.ts shares.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { request } from 'undici';
import { stringify } from 'yaml';
import { loadConfigObject } from '../src/config/load.ts';
import { mustDecodeKey32 } from '../src/config/keys.ts';
import { openConfiguredStore } from '../src/main.ts';
import { createSecretBox } from '../src/store/secretbox.ts';
import { createLocalUser } from '../src/auth/password/users.ts';
import { enrolTotp } from '../dev/seed.ts';
import { currentTotpCode } from '../src/auth/totp/totp.ts';
import { NODE_FLAGS } from '../src/runtime/node-flags.ts';
import { pinned } from './processes.ts';

// ------------------------------------------------------------------ rows, tables, gates

export interface BenchRow {
  readonly name: string;
  /** NaN when the row is not an HTTP measurement */
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly extra: Readonly<Record<string, string | number>>;
}

export interface Gate {
  readonly name: string;
  readonly value: string;
  readonly target: string;
  /** null: information only */
  readonly pass: boolean | null;
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';

function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function formatRows(rows: readonly BenchRow[]): string {
  return table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'extra'],
    rows.map((r) => [
      r.name,
      fmt(r.reqPerSec),
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      Object.entries(r.extra)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v, v % 1 === 0 ? 0 : 2) : v}`)
        .join(' '),
    ]),
  );
}

export function formatGates(gates: readonly Gate[]): string {
  return table(
    ['check', 'measured', 'target', 'result'],
    gates.map((g) => [g.name, g.value, g.target, g.pass === null ? '' : g.pass ? 'PASS' : 'FAIL']),
  );
}

/** load average over the last minute, per CPU (other work on the machine skews every number) */
export function machineLoad(): string {
  return `load ${loadavg()[0]?.toFixed(2)} on ${navigator.hardwareConcurrency} CPUs`;
}

// ------------------------------------------------------------------ configuration

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const STAFF_HOST = 'staff.bench.test';

export interface BenchKeys {
  readonly session: string[];
  readonly signing: { privateKey: string }[];
  readonly encryption: { id: string; key: string }[];
}

export function benchKeys(): BenchKeys {
  const key = () => randomBytes(32).toString('base64');
  return {
    session: [key()],
    signing: [{ privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }],
    encryption: [{ id: 'k1', key: key() }],
  };
}

/** A gateway configuration as YAML would give it: the staff site and optional portal clients on `upstream`. */
export function gatewayRaw(opts: {
  upstream: string;
  store: Record<string, unknown>;
  keys: BenchKeys;
  clients?: readonly Record<string, unknown>[];
}): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0, publicScheme: 'http' },
    ops: { host: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
    store: opts.store,
    keys: opts.keys,
    session: { secure: false },
    sites: {
      staff: { hosts: [STAFF_HOST], upstream: opts.upstream },
      ...(opts.clients ? { portal: { upstream: opts.upstream, clients: opts.clients } } : {}),
    },
  };
}

// ------------------------------------------------------------------ child processes

const BIN = fileURLToPath(new URL('../bin/regentra-gateway.js', import.meta.url));

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** the ops listener (gateways only) */
  readonly opsUrl: string | null;
  /** ms from spawn to listening */
  readonly startMs: number;
  /** resident set size now, in MiB (from /proc) */
  rssMiB(): number;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function startChild(name: string, args: readonly string[], ready: RegExp, cleanup: () => void = () => {}, cpus?: string): Promise<ChildServer> {
  const started = performance.now();
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  // taskset execs node in place: the pid is the server's
  const [cmd, argv] = cpus ? pinned(process.execPath, args, cpus) : [process.execPath, [...args]];
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      cleanup();
      resolve();
    }),
  );
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-16_384)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 60 s\n${output}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-16_384);
      const m = ready.exec(output);
      if (!m) return;
      clearTimeout(timer);
      const startMs = performance.now() - started;
      resolve({
        name,
        pid: child.pid as number,
        url: m[1] as string,
        opsUrl: m[2] ?? null,
        startMs,
        rssMiB: () => {
          const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
          return kb ? Number(kb) / 1024 : Number.NaN;
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(force);
          }
        },
      });
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready\n${output}`));
    });
  });
}

const UPSTREAM_JS = `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream', items: [1, 2, 3, 4, 5] }));
const server = http.createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write('upstream on http://127.0.0.1:' + server.address().port + '\\n'));
process.once('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

/** A small JSON upstream in its own process. */
export function startUpstreamChild(): Promise<ChildServer> {
  return startChild('upstream', ['-e', UPSTREAM_JS], /upstream on (\S+)/);
}

/** `regentra-gateway serve` on `raw` (written to a temp YAML file) in its own process. */
/** `cpus`: a taskset CPU list for the process (otherwise it inherits this process's CPUs) */
export function startGatewayChild(name: string, raw: Record<string, unknown>, cpus?: string): Promise<ChildServer> {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-bench-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(raw));
  return startChild(
    name,
    [...NODE_FLAGS, BIN, 'serve', '--config', file],
    /regentra-gateway listening on (\S+) \(ops on (\S+)\)/,
    () => rmSync(dir, { recursive: true, force: true }),
    cpus,
  );
}

// ------------------------------------------------------------------ accounts and sign-in

export const PASSWORD = 'correct horse battery staple';

/** An account with PASSWORD and TOTP in `raw`'s store (opened and closed here, before or beside the gateway). */
export async function seedAccount(raw: Record<string, unknown>, realm: string, email: string): Promise<{ email: string; secret: string }> {
  const { config } = loadConfigObject(raw);
  const store = await openConfiguredStore(config);
  try {
    const user = await createLocalUser(store, {
      realm,
      email,
      name: 'Bench Mark',
      role: 'member',
      password: PASSWORD,
      minLength: config.auth.password.minLength,
      actor: 'bench',
    });
    const box = createSecretBox(config.keys.encryption.map((k) => ({ id: k.id, key: mustDecodeKey32(k.key) })));
    const { secret } = await enrolTotp(store, box, user, { actor: 'bench' });
    return { email, secret };
  } finally {
    await store.close();
  }
}

/** Sign in over HTTP (password, then TOTP) on `host`; returns the Cookie header of the session. */
export async function signIn(url: string, host: string, account: { email: string; secret: string }): Promise<string> {
  const jar = new Map<string, string>();
  const send = async (method: 'GET' | 'POST', path: string, form?: Record<string, string>) => {
    const res = await request(`${url}${path}`, {
      method,
      headers: {
        host,
        accept: 'text/html',
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${host}` } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    const body = await res.body.text();
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (pair.slice(eq + 1) === '' || /max-age=0/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.statusCode, body, location: res.headers.location };
  };
  const csrf = (body: string) => {
    const m = /name="csrf" value="([^"]+)"/.exec(body);
    if (!m) throw new Error('no CSRF field on the page');
    return m[1] as string;
  };
  const login = await send('GET', '/.auth/login?rd=%2F');
  const pwd = await send('POST', '/.auth/login', { csrf: csrf(login.body), email: account.email, password: PASSWORD });
  if (pwd.status !== 303 || pwd.location !== '/.auth/login/totp') throw new Error(`password step on ${host}: ${pwd.status}`);
  const totp = await send('GET', '/.auth/login/totp');
  const done = await send('POST', '/.auth/login/totp', { csrf: csrf(totp.body), code: await currentTotpCode(account.secret, Date.now()) });
  if (done.status !== 303) throw new Error(`TOTP step on ${host}: ${done.status}`);
  const session = [...jar].find(([k]) => k === 'regentra_session');
  if (!session) throw new Error('no session cookie after sign-in');
  return `${session[0]}=${session[1]}`;
}

// ------------------------------------------------------------------ load

export interface LoadResult {
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** autocannon: GET `path` on `host` with `cookie` for `durationS` seconds. */
export function load(url: string, host: string, cookie: string, opts: { connections: number; durationS: number; path?: string }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}${opts.path ?? '/api/ping'}`,
        headers: { host, cookie, accept: 'application/json' },
        connections: opts.connections,
        duration: opts.durationS,
      },
      (err, r) => {
        if (err) return reject(err);
        resolve({
          reqPerSec: r.requests.average,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
          requests: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
        });
      },
    );
  });
}

/** How many store operations the gateway has made (sum of regentra_store_operation_seconds_count). */
export async function storeOperations(opsUrl: string): Promise<number> {
  const res = await request(`${opsUrl}/metrics`);
  const text = await res.body.text();
  let n = 0;
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored per line; \d+ and the optional fraction are split by '.': linear, on our own metrics text
  for (const m of text.matchAll(/^regentra_store_operation_seconds_count\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) n += Number(m[1]);
  return n;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

// ------------------------------------------------------------------ the scenario

export interface StoreCompareOptions {
  readonly durationS?: number;
  readonly rounds?: number;
  readonly connections?: number;
  readonly warmupS?: number;
}

export interface StoreCompareResult {
  readonly rows: BenchRow[];
  /** PostgreSQL req/s ÷ SQLite req/s: the median of the ratios of the rounds (each round measures both, back to back) */
  readonly ratio: number;
  readonly gate: Gate;
}

/** The authenticated proxy path: SQLite store vs PostgreSQL store, alternating rounds. */
export async function storeCompare(opts: StoreCompareOptions = {}): Promise<StoreCompareResult> {
  const durationS = opts.durationS ?? 4;
  const rounds = opts.rounds ?? 6;
  const connections = opts.connections ?? 16;
  const warmupS = opts.warmupS ?? 2;
  const keys = benchKeys();
  const dir = mkdtempSync(join(tmpdir(), 'regentra-bench-store-'));
  const schema = `regentra_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const upstream = await startUpstreamChild();
  const gateways: ChildServer[] = [];
  try {
    const targets = [
      { name: 'proxy GET, SQLite store', raw: gatewayRaw({ upstream: upstream.url, keys, store: { driver: 'sqlite', path: join(dir, 'regentra.db') } }) },
      { name: 'proxy GET, PostgreSQL store', raw: gatewayRaw({ upstream: upstream.url, keys, store: { driver: 'postgres', url: DATABASE_URL, schema } }) },
    ];
    const runs = [];
    for (const t of targets) {
      const account = await seedAccount(t.raw, 'staff', `bench-${randomBytes(3).toString('hex')}@example.com`);
      const gw = await startGatewayChild(t.name, t.raw);
      gateways.push(gw);
      const cookie = await signIn(gw.url, STAFF_HOST, account);
      await load(gw.url, STAFF_HOST, cookie, { connections, durationS: warmupS }); // warm-up (JIT, connections)
      runs.push({ ...t, gw, cookie, results: [] as LoadResult[], storeOps: 0 });
    }
    for (let round = 0; round < rounds; round++) {
      for (const r of round % 2 === 0 ? runs : [...runs].reverse()) {
        const before = await storeOperations(r.gw.opsUrl as string);
        r.results.push(await load(r.gw.url, STAFF_HOST, r.cookie, { connections, durationS }));
        r.storeOps += (await storeOperations(r.gw.opsUrl as string)) - before;
      }
    }
    const rows: BenchRow[] = runs.map((r) => {
      const requests = r.results.reduce((n, x) => n + x.requests, 0);
      const non2xx = r.results.reduce((n, x) => n + x.non2xx + x.errors, 0);
      if (non2xx > 0) throw new Error(`${r.name}: ${non2xx} answers were not 2xx (the session was refused?)`);
      return {
        name: r.name,
        reqPerSec: median(r.results.map((x) => x.reqPerSec)),
        p50Ms: median(r.results.map((x) => x.p50Ms)),
        p99Ms: median(r.results.map((x) => x.p99Ms)),
        extra: {
          rounds: r.results.map((x) => Math.round(x.reqPerSec)).join('/'),
          'store ops/1k req': Number(((r.storeOps / requests) * 1000).toFixed(3)),
          'rss MiB': Number(r.gw.rssMiB().toFixed(0)),
        },
      };
    });
    // each round ran both back to back: the ratio of a round is little affected by drift in the machine's load
    const [lite, post] = runs as [(typeof runs)[number], (typeof runs)[number]];
    const perRound = (f: (x: LoadResult) => number) => median(lite.results.map((x, i) => f(post.results[i] as LoadResult) / f(x)));
    const ratio = perRound((x) => x.reqPerSec);
    const gate: Gate = { name: 'store ratio PostgreSQL/SQLite (req/s)', value: ratio.toFixed(3), target: '0.90 … 1.10', pass: ratio >= 0.9 && ratio <= 1.1 };
    const ratios = { 'req/s': ratio, p50: perRound((x) => x.p50Ms), p99: perRound((x) => x.p99Ms) };
    return {
      rows: [
        ...rows,
        {
          name: 'ratio PostgreSQL / SQLite',
          reqPerSec: Number.NaN,
          p50Ms: Number.NaN,
          p99Ms: Number.NaN,
          extra: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, v.toFixed(3)])),
        },
      ],
      ratio,
      gate,
    };
  } finally {
    for (const gw of gateways) await gw.stop();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' }, warmup: { type: 'string' } },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  console.log(`store-compare: authenticated GET through the gateway, SQLite vs PostgreSQL store (${machineLoad()})\n`);
  const result = await storeCompare({
    durationS: num(values.duration),
    rounds: num(values.rounds),
    connections: num(values.connections),
    warmupS: num(values.warmup),
  });
  console.log(formatRows(result.rows));
  console.log(`\n${formatGates([result.gate])}\n(${machineLoad()} at the end)`);
  if (!result.gate.pass) process.exitCode = 1;
}

if (import.meta.main) await main();
