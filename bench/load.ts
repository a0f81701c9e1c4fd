/**
 * One load measurement: a warm-up, then a timed run, with wrk when it is
 * installed (a C load generator, pinned to the generator's CPUs) and autocannon
 * otherwise (in this process, whose CPUs are pinned by run.ts). The CPU time the
 * server's processes used during the timed run is read from /proc, so each result
 * also says how many requests one CPU-second of the server handled.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { findExecutable, pinned, treeCpuSeconds } from './processes.ts';

export interface LoadOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly method?: string;
  readonly body?: Buffer;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** the server's root process: its CPU time (and its descendants') is measured */
  readonly serverPid?: number;
  /** wrk threads (default 1) and CPUs */
  readonly threads?: number;
  readonly cpus?: string;
  /** force a tool */
  readonly tool?: 'wrk' | 'autocannon';
  /**
   * a pause of this many milliseconds on each connection between a response and the next
   * request (wrk only): a moderate load instead of as many requests as the server can take
   */
  readonly pauseMs?: number;
}

export interface LoadResult {
  readonly tool: string;
  readonly requests: number;
  /** requests per wall-clock second */
  readonly rps: number;
  /** milliseconds */
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
  /** CPU seconds the server used during the timed run (NaN when unknown) */
  readonly cpuSeconds: number;
  /** requests per CPU-second of the server: its throughput per core */
  readonly perCpuSecond: number;
}

export const WRK = findExecutable('wrk');

function toolFor(opts: LoadOptions): 'wrk' | 'autocannon' {
  return opts.tool ?? (WRK ? 'wrk' : 'autocannon');
}

// ------------------------------------------------------------------ wrk

const LUA_DONE = `
done = function(summary, latency, requests)
  io.write(string.format("\\nRESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
`;

const canonical = (name: string) => name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());

function luaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

interface WrkRun {
  readonly requests: number;
  readonly seconds: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly p50: number;
  readonly p99: number;
}

function runWrk(opts: LoadOptions, seconds: number, dir: string, started?: (wrk: ChildProcess) => void): Promise<WrkRun> {
  const script = join(dir, 'script.lua');
  let lua = '';
  if (opts.method) lua += `wrk.method = ${luaString(opts.method)}\n`;
  if (opts.body) {
    const bodyFile = join(dir, 'body.bin');
    writeFileSync(bodyFile, opts.body);
    lua += `local f = io.open(${luaString(bodyFile)}, "rb")\nwrk.body = f:read("*all")\nf:close()\n`;
  }
  // wrk adds Host (unless "Host" is set) and Content-Length itself: use canonical spellings
  for (const [k, v] of Object.entries(opts.headers ?? {})) lua += `wrk.headers[${luaString(canonical(k))}] = ${luaString(v)}\n`;
  if (opts.pauseMs) lua += `delay = function() return ${Math.round(opts.pauseMs)} end\n`;
  writeFileSync(script, lua + LUA_DONE);
  const threads = Math.min(opts.threads ?? 1, opts.connections);
  const [cmd, args] = pinned(
    WRK as string,
    ['-t', String(threads), '-c', String(opts.connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', script, opts.url],
    opts.cpus,
  );
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${stderr || err.message}`));
      const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(stdout);
      if (!m) return reject(new Error(`wrk: no result in ${stdout}`));
      const [requests, durationUs, connect, read, write, status, timeout, p50, p99] = m.slice(1).map(Number);
      resolve({
        requests: requests as number,
        seconds: (durationUs as number) / 1e6,
        errors: (connect as number) + (read as number) + (write as number) + (timeout as number),
        non2xx: status as number,
        p50: (p50 as number) / 1000,
        p99: (p99 as number) / 1000,
      });
    });
    started?.(child);
  });
}

// ------------------------------------------------------------------ autocannon

function runAutocannon(opts: LoadOptions, seconds: number, onResponse?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        method: opts.method ?? 'GET',
        headers: { ...opts.headers },
        body: opts.body,
        connections: opts.connections,
        pipelining: 1,
        duration: seconds,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => status < 400 && onResponse(ms));
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

// ------------------------------------------------------------------

export async function measure(opts: LoadOptions): Promise<LoadResult> {
  const tool = toolFor(opts);
  if (opts.pauseMs && tool !== 'wrk') throw new Error('a paused load (pauseMs) needs wrk (npm run bench:peers installs it)');
  const cpu = () => (opts.serverPid === undefined ? Number.NaN : treeCpuSeconds(opts.serverPid));
  if (tool === 'wrk') {
    const dir = mkdtempSync(join(tmpdir(), 'regentra-wrk-'));
    try {
      if (opts.warmupSeconds > 0) await runWrk(opts, opts.warmupSeconds, dir);
      const before = cpu();
      const r = await runWrk(opts, opts.durationSeconds, dir);
      const cpuSeconds = cpu() - before;
      return {
        tool,
        requests: r.requests,
        rps: r.requests / r.seconds,
        p50: r.p50,
        p99: r.p99,
        errors: r.errors,
        non2xx: r.non2xx,
        cpuSeconds,
        perCpuSecond: r.requests / cpuSeconds,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (opts.warmupSeconds > 0) await runAutocannon(opts, opts.warmupSeconds);
  const times: number[] = [];
  const before = cpu();
  const started = performance.now();
  const result = await runAutocannon(opts, opts.durationSeconds, (ms) => times.push(ms));
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpu() - before;
  const sorted = Float64Array.from(times).sort();
  return {
    tool,
    requests: result.requests.total,
    rps: result.requests.total / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuSeconds,
    perCpuSecond: result.requests.total / cpuSeconds,
  };
}

/** one server's share of measureTakingTurns */
export interface TurnResult {
  readonly requests: number;
  /** failed requests and non-2xx answers */
  readonly errors: number;
  readonly cpuSeconds: number;
  readonly perCpuSecond: number;
}

/**
 * Two servers on the same CPU, each loaded by its own wrk, taking turns: one wrk runs while the
 * other is stopped (SIGSTOP / SIGCONT), `sliceMs` each, for `seconds` each in all. Each server
 * runs alone in its slices, and whatever the machine does over longer than a slice falls on both
 * alike. Each result's throughput is only its requests per CPU-second (requests/second and
 * latencies are not meaningful: a stopped wrk counts its time). Needs wrk and /proc.
 */
export async function measureTakingTurns(
  a: LoadOptions,
  b: LoadOptions,
  sliceMs: number,
  seconds: number,
): Promise<{ readonly a: TurnResult; readonly b: TurnResult }> {
  if (!WRK) throw new Error('taking turns needs wrk');
  const dirs = [mkdtempSync(join(tmpdir(), 'regentra-wrk-')), mkdtempSync(join(tmpdir(), 'regentra-wrk-'))] as const;
  try {
    for (const [i, o] of [a, b].entries()) if (o.warmupSeconds > 0) await runWrk(o, o.warmupSeconds, dirs[i] as string);
    const cpu = (o: LoadOptions) => (o.serverPid === undefined ? Number.NaN : treeCpuSeconds(o.serverPid));
    const before = [cpu(a), cpu(b)];
    let wa: ChildProcess | undefined;
    let wb: ChildProcess | undefined;
    let aRuns = true;
    let timer: NodeJS.Timeout | undefined;
    // a wrk's duration counts its stopped time: each runs for both servers' turns
    const ra = runWrk(a, 2 * seconds, dirs[0], (w) => (wa = w));
    const rb = runWrk(b, 2 * seconds, dirs[1], (w) => {
      wb = w;
      w.kill('SIGSTOP');
      timer = setInterval(() => {
        aRuns = !aRuns;
        (aRuns ? wb : wa)?.kill('SIGSTOP');
        (aRuns ? wa : wb)?.kill('SIGCONT');
      }, sliceMs);
    });
    // either may fail while the other is awaited: its rejection is seen below, never unhandled
    ra.catch(() => {});
    rb.catch(() => {});
    let results: [WrkRun, WrkRun];
    try {
      const first = await Promise.race([ra.then(() => 'a' as const), rb.then(() => 'b' as const)]);
      // whichever finished first, the other must not stay stopped
      clearInterval(timer);
      (first === 'a' ? wb : wa)?.kill('SIGCONT');
      results = await Promise.all([ra, rb]);
    } finally {
      clearInterval(timer);
      wa?.kill('SIGCONT');
      wb?.kill('SIGCONT');
    }
    const cpuA = cpu(a) - (before[0] as number);
    const cpuB = cpu(b) - (before[1] as number);
    const [x, y] = results;
    return {
      a: { requests: x.requests, errors: x.errors + x.non2xx, cpuSeconds: cpuA, perCpuSecond: x.requests / cpuA },
      b: { requests: y.requests, errors: y.errors + y.non2xx, cpuSeconds: cpuB, perCpuSecond: y.requests / cpuB },
    };
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** the median of each field over several results of the same row */
export function median(results: readonly LoadResult[]): LoadResult {
  const mid = (f: (r: LoadResult) => number) => {
    const v = results
      .map(f)
      .filter((x) => !Number.isNaN(x))
      .sort((a, b) => a - b);
    if (v.length === 0) return Number.NaN;
    return v.length % 2 === 1 ? (v[(v.length - 1) / 2] as number) : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
  };
  return {
    tool: results[0]?.tool ?? '',
    requests: mid((r) => r.requests),
    rps: mid((r) => r.rps),
    p50: mid((r) => r.p50),
    p99: mid((r) => r.p99),
    errors: results.reduce((a, r) => a + r.errors, 0),
    non2xx: results.reduce((a, r) => a + r.non2xx, 0),
    cpuSeconds: mid((r) => r.cpuSeconds),
    perCpuSecond: mid((r) => r.perCpuSecond),
  };
}
