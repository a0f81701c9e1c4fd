/**
 * Instructions per proxied request, counted by valgrind's callgrind: the same count for
 * the same code whatever else the machine does, so a change of a few per cent shows where
 * throughput figures on a noisy machine cannot (docs/performance.md, issue #17). User-space
 * instructions of the whole server process, and of its main thread alone, after a warm-up;
 * the system calls' kernel time is not in it (the gateway and the Node floor make the same
 * calls, but for the log's writes at info). The warm-up is 20,000 requests: after the 4,000 of
 * before 4 Dec 2026, a quarter of every row's count was still V8 optimising on its compiler
 * thread (60-85k instructions a request, more for the gateway than for the floor), which pulled
 * every ratio towards 1 (floor ÷ gateway 0.81× with it; 0.75–0.80× after 20,000, the main thread
 * alone 0.78–0.80×, in two runs).
 *
 *   node bench/instructions.ts [--requests 2000] [--compare LABEL=DIR]… [--only TEXT]… [--keep DIR] [--warmup 20000]
 *
 * Rows: the Node floor (bench/children/node-floor.ts) sent the gateway's request (the same
 * Cookie header, which it forwards), the same floor sent no Cookie header (the measure before
 * 4 Dec 2026), this checkout's gateway with a fresh session cookie, the same with one old
 * cookie replayed (every response carries the refreshed cookie), with an Entra sign-in's
 * session, at log level info (one access-log line per request) and on a public path (no
 * session, no identity), and each --compare checkout's gateway (its own
 * bench/children/gateway.ts) at warn and at info. Needs valgrind (Debian's package);
 * each row takes two to three minutes. `--only TEXT` (repeatable) counts the floor and the rows whose label has one of the TEXTs.
 * `--keep DIR` keeps each row's callgrind files (one per thread) there (`callgrind_annotate DIR/FILE` shows where
 * the instructions go, by function: V8's builtins and Node's C++ by name, JIT code as addresses).
 */
import { execFileSync, fork } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { checkoutNodeFlags, findExecutable, startChild } from './processes.ts';
import { formatTable } from './table.ts';
import { NODE_FLAGS } from '../src/runtime/node-flags.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    compare: { type: 'string', multiple: true },
    only: { type: 'string', multiple: true },
    keep: { type: 'string' },
    warmup: { type: 'string', default: '20000' },
  },
});
const REQUESTS = Number(values.requests);
if (values.keep) mkdirSync(values.keep, { recursive: true });
const WARMUP = Number(values.warmup);
for (const [name, n] of [
  ['--requests', REQUESTS],
  ['--warmup', WARMUP],
] as const) {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number of requests`);
}
const CONNECTIONS = 8;
const VALGRIND = findExecutable('valgrind');
const CONTROL = findExecutable('callgrind_control');
if (!VALGRIND || !CONTROL) throw new Error('valgrind is not installed (apt-get install valgrind)');

interface Row {
  readonly label: string;
  readonly script: string;
  readonly args: readonly string[];
  /**
   * what to send: the path, and a cookie — the gateway child's answer to a question
   * ("cookie": fresh; "old-cookie": one last seen before the touch interval, replayed, so every
   * response carries the refreshed cookie; "entra-cookie": an Entra sign-in's session); 'same':
   * a cookie of the same gateway (the Node floor gets the gateway's very request and forwards
   * its Cookie header as a proxy without authentication does); 'none'
   */
  readonly path: string;
  readonly cookie: { readonly ask: 'cookie' | 'old-cookie' | 'entra-cookie' } | 'same' | 'none';
  /** Node's flags: this checkout's NODE_FLAGS, or a --compare checkout's own (the flags are part of what is compared) */
  readonly flags: readonly string[];
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** a session cookie of this checkout's gateway, for the rows that send the gateway's request to another server (Row.cookie 'same') */
let gatewayCookie: string | undefined;

/** instructions per request: of the whole process, and of its main thread (the event loop) alone */
interface Count {
  readonly total: number;
  readonly main: number;
}

/** one server under callgrind: warm up, zero the counters, send REQUESTS, dump; instructions per request */
async function count(row: Row, upstream: string): Promise<Count> {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-callgrind-'));
  try {
    const child = fork(row.script, [upstream, ...row.args], {
      execPath: VALGRIND as string,
      execArgv: ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${dir}/cg.%p`, process.execPath, ...row.flags],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const info = await new Promise<{ url: string; host?: string }>((resolve, reject) => {
      child.on('message', (m: { ready?: { url: string; host?: string } }) => m.ready && resolve(m.ready));
      child.once('exit', (code) => reject(new Error(`${row.label} exited (${code})\n${stderr.slice(-2000)}`)));
    });
    const question = typeof row.cookie === 'object' ? row.cookie.ask : undefined;
    const cookie =
      question !== undefined
        ? await new Promise<string>((resolve) => {
            child.on('message', (m: { answer?: string; id?: number }) => m.id === 1 && resolve(m.answer as string));
            child.send({ ask: question, id: 1 });
          })
        : row.cookie === 'same'
          ? gatewayCookie
          : undefined;
    const headers: Record<string, string> = { host: info.host ?? 'bench.test', ...(cookie ? { cookie } : {}) };
    const pool = new Pool(info.url, { connections: CONNECTIONS });
    const load = async (n: number) => {
      let left = n;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (left-- > 0) {
            const res = await pool.request({ path: row.path, method: 'GET', headers });
            await res.body.dump();
            if (res.statusCode !== 200) throw new Error(`${row.label}: ${row.path} answered ${res.statusCode}`);
          }
        }),
      );
    };
    const pid = String(child.pid);
    await load(WARMUP); // the JIT compiles the hot path
    execFileSync(CONTROL as string, ['-z', pid], { stdio: 'ignore' });
    await load(REQUESTS);
    execFileSync(CONTROL as string, ['-d', pid], { stdio: 'ignore' });
    await pool.close();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    // one file per thread (cg.PID.1-01 is the main thread); the others run V8's compiler and the
    // garbage collector's helpers, and libuv's pool
    let total = 0;
    let main = 0;
    for (const f of readdirSync(dir)) {
      const thread = /\.1-(\d+)$/.exec(f);
      if (thread === null) continue;
      const m = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
      if (!m) continue;
      total += Number(m[1]);
      if (Number(thread[1]) === 1) main = Number(m[1]);
      if (values.keep)
        copyFileSync(join(dir, f), join(values.keep, `${row.label.replace(/[^\w-]+/g, '_').replace(/^_|_$/g, '')}.thread${thread[1]}.callgrind`));
    }
    if (main === 0) throw new Error(`${row.label}: callgrind wrote no counts`);
    return { total: total / REQUESTS, main: main / REQUESTS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gatewayArgs = ['--workers', '1', '--log-level', 'warn'];
// at info: one access-log line per request (to /dev/null: the child's stdout is ignored)
const infoArgs = ['--workers', '1', '--log-level', 'info'];
const FRESH = { ask: 'cookie' } as const;
const rows: Row[] = [
  { label: '(f) Node floor: node:http + undici', script: here('./children/node-floor.ts'), args: [], path: '/api/items', cookie: 'same', flags: NODE_FLAGS },
  {
    label: '(f0) the Node floor sent no Cookie header',
    script: here('./children/node-floor.ts'),
    args: [],
    path: '/api/items',
    cookie: 'none',
    flags: NODE_FLAGS,
  },
  { label: '(c) gateway, signed in', script: here('./children/gateway.ts'), args: gatewayArgs, path: '/api/items', cookie: FRESH, flags: NODE_FLAGS },
  {
    label: '(c-old) gateway, one old cookie replayed',
    script: here('./children/gateway.ts'),
    args: gatewayArgs,
    path: '/api/items',
    cookie: { ask: 'old-cookie' },
    flags: NODE_FLAGS,
  },
  {
    label: '(c-entra) gateway, signed in with Entra',
    script: here('./children/gateway.ts'),
    args: gatewayArgs,
    path: '/api/items',
    cookie: { ask: 'entra-cookie' },
    flags: NODE_FLAGS,
  },
  {
    label: '(c-info) gateway at log.level info, signed in',
    script: here('./children/gateway.ts'),
    args: infoArgs,
    path: '/api/items',
    cookie: FRESH,
    flags: NODE_FLAGS,
  },
  { label: '(c-pub) gateway, public path', script: here('./children/gateway.ts'), args: gatewayArgs, path: '/assets/items', cookie: 'none', flags: NODE_FLAGS },
  ...(
    await Promise.all(
      (values.compare ?? []).map(async (c) => {
        const [label, dir] = c.split('=') as [string, string];
        const root = dir.replace(/\/$/, '');
        const script = `${root}/bench/children/gateway.ts`;
        const flags = await checkoutNodeFlags(root);
        return [
          { label: `(c′) ${label}, signed in`, script, args: gatewayArgs, path: '/api/items', cookie: FRESH, flags },
          { label: `(c′-info) ${label} at log.level info, signed in`, script, args: infoArgs, path: '/api/items', cookie: FRESH, flags },
        ];
      }),
    )
  ).flat(),
];

const only = values.only;
const chosen = rows.filter((row, i) => i === 0 || only === undefined || only.some((text) => row.label.includes(text)));

const upstream = await startChild<{ url: string }>('upstream.ts');
const results: [string, Count][] = [];
try {
  if (chosen.some((row) => row.cookie === 'same')) {
    const gw = await startChild<{ url: string }>('gateway.ts', [upstream.info.url, ...gatewayArgs], { quiet: true });
    gatewayCookie = await gw.ask<string>('cookie');
    await gw.stop();
  }
  for (const row of chosen) {
    process.stdout.write(`counting ${row.label}…\n`);
    results.push([row.label, await count(row, upstream.info.url)]);
  }
} finally {
  await upstream.stop();
}
const floor = results[0]?.[1] ?? { total: Number.NaN, main: Number.NaN };
process.stdout.write(
  `\ninstructions per request (callgrind, ${REQUESTS} requests after ${WARMUP} of warm-up, ${CONNECTIONS} connections)\n\n` +
    formatTable<[string, Count]>(
      [
        { title: 'target', value: ([label]) => label },
        { title: 'k instructions', value: ([, n]) => (n.total / 1000).toFixed(1), right: true },
        { title: 'of them the main thread', value: ([, n]) => (n.main / 1000).toFixed(1), right: true },
        { title: 'as a share of the Node floor (floor ÷ target)', value: ([, n]) => `${(floor.total / n.total).toFixed(2)}×`, right: true },
        { title: 'main thread', value: ([, n]) => `${(floor.main / n.main).toFixed(2)}×`, right: true },
      ],
      results,
    ) +
    '\n' +
    // the other threads: V8's optimising compiler (still at work on a process this slow, even after
    // the warm-up) and the garbage collector's helpers; the main thread is the event loop's work
    'The other threads are mostly V8 compiling (the warm-up under valgrind is short of a real one) and the\n' +
    "garbage collector's helpers; the main-thread column is the event loop's own work per request.\n",
);
