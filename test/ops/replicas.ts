/**
 * PostgreSQL-backed gateways for tests: a schema per test run (dropped after),
 * a TCP proxy in front of the database that can be stopped to simulate an
 * outage, and N replicas of serve() sharing one database.
 *
 * Seam for the multi-replica sign-in tests: start replicas with
 * `startReplicas(2, postgresRawConfig(...))`, sign in on `replicas[0]` and use
 * the cookie on `replicas[1]` (same keys, same database).
 *
 * `startReplicaProcesses(3, raw)` starts real `regentra-gateway serve` child
 * processes instead (the binary, a YAML file each): nothing is shared between
 * them but the database and the keys, as between the pods of a deployment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { startServed, type Served } from './harness.ts';
import { NODE_FLAGS } from '../../src/runtime/node-flags.ts';

export { adminQuery, DATABASE_URL, databaseProxy, dropSchemas, testSchema, urlVia, type DatabaseProxy } from '../support/postgres.ts';
import { DATABASE_URL } from '../support/postgres.ts';

/** a raw config (as from YAML) that stores in `schema` of the test database, reached through `url` */
export function withPostgres(raw: Record<string, unknown>, schema: string, url = DATABASE_URL, pool: Record<string, number> = {}): Record<string, unknown> {
  return { ...raw, store: { driver: 'postgres', url, schema, pool: { max: 4, connectionTimeoutMillis: 1_000, statementTimeoutMillis: 5_000, ...pool } } };
}

/** `count` serve() replicas of one configuration (share a database by giving them a postgres store) */
export async function startReplicas(count: number, raw: Record<string, unknown>): Promise<Served[]> {
  const replicas: Served[] = [];
  try {
    for (let i = 0; i < count; i++) replicas.push(await startServed(raw));
  } catch (err) {
    for (const replica of replicas) await replica.close();
    throw err;
  }
  return replicas;
}

// ------------------------------------------------------------------ replicas as child processes

const BIN = fileURLToPath(new URL('../../bin/regentra-gateway.js', import.meta.url));
const LISTENING = /regentra-gateway listening on (\S+) \(ops on (\S+)\)/;
const MAX_OUTPUT_CHARS = 64 * 1024;

/** children still running, killed should this process exit without stopping them */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface GatewayProcess {
  readonly name: string;
  readonly pid: number;
  /** the public listener, e.g. http://127.0.0.1:41215 */
  readonly url: string;
  readonly opsUrl: string;
  /** the YAML file it was started with (the `users` CLI can use it too) */
  readonly file: string;
  /** what the process wrote to stdout and stderr so far (the last 64 KiB) */
  output(): string;
  /** a request naming `host` to the public listener */
  request(host: string, path: string, options?: Partial<Dispatcher.RequestOptions> & { cookie?: string }): Promise<Dispatcher.ResponseData>;
  /** a GET to the ops listener */
  ops(path: string): Promise<{ status: number; body: string }>;
  /** SIGTERM (graceful stop) and wait for the exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

export interface ProcessOptions {
  readonly name?: string;
  /** extra environment (`${ENV}` references in the config resolve against it) */
  readonly env?: Readonly<Record<string, string>>;
  /** give up when not listening by then (default 30 s) */
  readonly readyTimeoutMs?: number;
  /** node's flags (default: the ones the launchers pass, src/runtime/node-flags.ts) */
  readonly nodeFlags?: readonly string[];
}

/**
 * `regentra-gateway serve --config FILE` as a child process, FILE being `raw` as YAML
 * (its `log.level` defaults to warn). Resolves once it says it is listening.
 */
export async function startGatewayProcess(raw: Record<string, unknown>, options: ProcessOptions = {}): Promise<GatewayProcess> {
  const name = options.name ?? 'gateway';
  const dir = mkdtempSync(join(tmpdir(), 'regentra-replica-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify({ ...raw, log: { level: 'warn', ...(raw.log as object | undefined) } }));
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  delete env.NODE_TEST_CONTEXT; // the child is a gateway, not a test file
  const child = spawn(process.execPath, [...(options.nodeFlags ?? NODE_FLAGS), BIN, 'serve', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
  };
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
      resolve(code ?? (signal ? 128 : null));
    });
  });
  child.stderr.on('data', append);

  let urls: { url: string; opsUrl: string };
  try {
    urls = await new Promise<{ url: string; opsUrl: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not start within ${options.readyTimeoutMs ?? 30_000} ms`)),
        options.readyTimeoutMs ?? 30_000,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        append(chunk);
        const m = LISTENING.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve({ url: m[1] as string, opsUrl: m[2] as string });
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} before listening`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${output}`, { cause: err });
  }

  let stopping: Promise<number | null> | null = null;
  return {
    name,
    pid: child.pid as number,
    ...urls,
    file,
    output: () => output,
    request(host, path, opts = {}) {
      const { cookie, headers, ...rest } = opts;
      return undiciRequest(`${urls.url}${path}`, {
        method: 'GET',
        ...rest,
        headers: { host, ...(cookie ? { cookie } : {}), ...(headers as Record<string, string> | undefined) },
      });
    },
    async ops(path) {
      const res = await undiciRequest(`${urls.opsUrl}${path}`);
      return { status: res.statusCode, body: await res.body.text() };
    },
    stop() {
      return (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          const code = await exited;
          clearTimeout(force);
          return code;
        }
        return exited;
      })());
    },
  };
}

/**
 * `count` gateway processes of one configuration, started at once (give them a
 * postgres store to share a database: the first start also races the migrations).
 */
export async function startReplicaProcesses(
  count: number,
  raw: Record<string, unknown>,
  options: Omit<ProcessOptions, 'name'> = {},
): Promise<GatewayProcess[]> {
  const names = Array.from({ length: count }, (_, i) => String.fromCharCode(65 + i));
  const started = await Promise.allSettled(names.map((name) => startGatewayProcess(raw, { ...options, name })));
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((p) => p.stop()));
    throw failed.reason;
  }
  return ok;
}
