/**
 * Benchmark scenarios: one function per scenario, each starting the servers it
 * needs in child processes and returning measured rows and target verdicts.
 * To add a row (64 KB response, 1 MB upload, WebSocket round-trip, concurrent
 * sign-ins, PostgreSQL vs SQLite, a 10k-client config…), add a Scenario here.
 */
import { request } from 'undici';
import { measure, type LoadOptions, type LoadResult } from './load.ts';
import { startChild, type Child } from './processes.ts';

export interface BenchSettings {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** node flags for the gateway child (e.g. --cpu-prof) */
  readonly gatewayExecArgv: readonly string[];
}

export interface Row {
  readonly scenario: string;
  readonly target: string;
  readonly result: LoadResult;
}

export interface Verdict {
  readonly name: string;
  readonly value: string;
  readonly goal: string;
  readonly pass: boolean;
}

export interface ScenarioResult {
  readonly rows: readonly Row[];
  readonly verdicts: readonly Verdict[];
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(settings: BenchSettings): Promise<ScenarioResult>;
}

interface GatewayInfo {
  readonly url: string;
  readonly host: string;
  readonly cookie: string;
}

/** Run `fn` with a child server started for it alone (so a --cpu-prof profile covers only its own load). */
async function withChild<T extends { url: string }, R>(script: string, args: readonly string[], execArgv: readonly string[], fn: (info: T) => Promise<R>): Promise<R> {
  const child: Child<T> = await startChild<T>(script, args, { execArgv });
  try {
    return await fn(child.info);
  } finally {
    await child.stop();
  }
}

/** Fail loudly if the gateway would not actually proxy the benchmark's request (a 401 is fast and meaningless). */
async function assertProxied(url: string, headers: Record<string, string>): Promise<void> {
  const res = await request(url, { headers });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`sanity check: ${url} answered ${res.statusCode}, not 200`);
}

function load(settings: BenchSettings, url: string, headers: Record<string, string> = {}): LoadOptions {
  return { url, headers, connections: settings.connections, durationSeconds: settings.durationSeconds, warmupSeconds: settings.warmupSeconds };
}

export const smallGet: Scenario = {
  name: 'small GET',
  description: 'keep-alive GET of a 61-byte JSON response',
  async run(settings) {
    return withChild<{ url: string }, ScenarioResult>('upstream.ts', [], [], async (upstream) => {
      const a = await measure(load(settings, `${upstream.url}/api/items`));
      const b = await withChild<{ url: string }, LoadResult>('bare-proxy.ts', [upstream.url], [], (bare) => measure(load(settings, `${bare.url}/api/items`)));
      const c = await withChild<GatewayInfo, LoadResult>('gateway.ts', [upstream.url], settings.gatewayExecArgv, async (gw) => {
        const headers = { host: gw.host, cookie: gw.cookie };
        await assertProxied(`${gw.url}/api/items`, headers);
        return measure(load(settings, `${gw.url}/api/items`, headers));
      });
      const ratio = c.rps / b.rps;
      const addedP99 = c.p99 - b.p99;
      return {
        rows: [
          { scenario: this.name, target: '(a) upstream directly', result: a },
          { scenario: this.name, target: '(b) bare Fastify + http-proxy', result: b },
          { scenario: this.name, target: '(c) gateway, signed in', result: c },
        ],
        verdicts: [
          { name: 'throughput c/b', value: ratio.toFixed(3), goal: '≥ 0.85', pass: ratio >= 0.85 },
          { name: 'added p99 (c − b)', value: `${addedP99.toFixed(2)} ms`, goal: '≤ 1 ms', pass: addedP99 <= 1 },
        ],
      };
    });
  },
};

export const SCENARIOS: readonly Scenario[] = Object.freeze([smallGet]);
