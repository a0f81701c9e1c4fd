/**
 * Instructions per proxied request, counted by valgrind's callgrind: the same count for
 * the same code whatever else the machine does, so a change of a few per cent shows where
 * throughput figures on a noisy machine cannot (docs/performance.md, issue #17). User-space
 * instructions of the whole server process (all its threads), after a warm-up; the system
 * calls' kernel time is not in it (the gateway and the Node floor make the same calls).
 *
 *   node bench/instructions.ts [--requests 2000] [--compare LABEL=DIR]… [--only TEXT]
 *
 * Rows: the Node floor (bench/children/node-floor.ts) sent the gateway's request (the same
 * Cookie header, which it forwards), the same floor sent no Cookie header (the measure before
 * 4 Dec 2026), this checkout's gateway with a fresh session cookie, the same with one old
 * cookie replayed (every response carries the refreshed cookie), with an Entra sign-in's
 * session, at log level info (one access-log line per request) and on a public path (no
 * session, no identity), and each --compare checkout's gateway (its own
 * bench/children/gateway.ts) at warn and at info. Needs valgrind (Debian's package);
 * each row takes about a minute. `--only TEXT` counts the floor and the rows whose label has TEXT.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { findExecutable, startChild } from './processes.ts';
import { formatTable } from './table.ts';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '2000' }, compare: { type: 'string', multiple: true }, only: { type: 'string' } },
});
const REQUESTS = Number(values.requests);
const WARMUP = 4_000;
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
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** a session cookie of this checkout's gateway, for the rows that send the gateway's request to another server (Row.cookie 'same') */
let gatewayCookie: string | undefined;

/** one server under callgrind: warm up, zero the counters, send REQUESTS, dump; instructions per request */
async function count(row: Row, upstream: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-callgrind-'));
  try {
    const child = fork(row.script, [upstream, ...row.args], {
      execPath: VALGRIND as string,
      execArgv: ['--tool=callgrind', `--callgrind-out-file=${dir}/cg.%p`, process.execPath, '--max-semi-space-size=16'],
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
    let total = 0;
    for (const f of readdirSync(dir).filter((name) => name.endsWith('.1'))) {
      const m = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
      if (m) total = Math.max(total, Number(m[1]));
    }
    if (total === 0) throw new Error(`${row.label}: callgrind wrote no counts`);
    return total / REQUESTS;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gatewayArgs = ['--workers', '1', '--log-level', 'warn'];
// at info: one access-log line per request (to /dev/null: the child's stdout is ignored)
const infoArgs = ['--workers', '1', '--log-level', 'info'];
const FRESH = { ask: 'cookie' } as const;
const rows: Row[] = [
  { label: '(f) Node floor: node:http + undici', script: here('./children/node-floor.ts'), args: [], path: '/api/items', cookie: 'same' },
  { label: '(f0) the Node floor sent no Cookie header', script: here('./children/node-floor.ts'), args: [], path: '/api/items', cookie: 'none' },
  { label: '(c) gateway, signed in', script: here('./children/gateway.ts'), args: gatewayArgs, path: '/api/items', cookie: FRESH },
  {
    label: '(c-old) gateway, one old cookie replayed',
    script: here('./children/gateway.ts'),
    args: gatewayArgs,
    path: '/api/items',
    cookie: { ask: 'old-cookie' },
  },
  {
    label: '(c-entra) gateway, signed in with Entra',
    script: here('./children/gateway.ts'),
    args: gatewayArgs,
    path: '/api/items',
    cookie: { ask: 'entra-cookie' },
  },
  { label: '(c-info) gateway at log.level info, signed in', script: here('./children/gateway.ts'), args: infoArgs, path: '/api/items', cookie: FRESH },
  { label: '(c-pub) gateway, public path', script: here('./children/gateway.ts'), args: gatewayArgs, path: '/assets/items', cookie: 'none' },
  ...(values.compare ?? []).flatMap((c) => {
    const [label, dir] = c.split('=') as [string, string];
    const script = `${dir.replace(/\/$/, '')}/bench/children/gateway.ts`;
    return [
      { label: `(c′) ${label}, signed in`, script, args: gatewayArgs, path: '/api/items', cookie: FRESH },
      { label: `(c′-info) ${label} at log.level info, signed in`, script, args: infoArgs, path: '/api/items', cookie: FRESH },
    ];
  }),
];

const chosen = rows.filter((row, i) => i === 0 || values.only === undefined || row.label.includes(values.only));

const upstream = await startChild<{ url: string }>('upstream.ts');
const results: [string, number][] = [];
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
const floor = results[0]?.[1] ?? Number.NaN;
process.stdout.write(
  `\ninstructions per request (callgrind, ${REQUESTS} requests after ${WARMUP} of warm-up, ${CONNECTIONS} connections)\n\n` +
    formatTable<[string, number]>(
      [
        { title: 'target', value: ([label]) => label },
        { title: 'k instructions', value: ([, n]) => (n / 1000).toFixed(1), right: true },
        { title: 'as a share of the Node floor (floor ÷ target)', value: ([, n]) => `${(floor / n).toFixed(2)}×`, right: true },
      ],
      results,
    ) +
    '\n',
);
