/**
 * Run the real `serve()` for a test: the configuration is written to a YAML file
 * (so that reloads re-read it), log lines are captured, and sessions are sealed
 * with the running app's keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { loadConfigFile } from '../../src/config/load.ts';
import { serve, type Running } from '../../src/main.ts';
import { sealedSessionCookie } from '../support/gateway.ts';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface Served {
  readonly running: Running;
  readonly file: string;
  readonly logs: LogLine[];
  /** write a new configuration to the file (does not reload) */
  write(raw: Record<string, unknown>): void;
  /** a request naming `host` to the public listener */
  request(host: string, path: string, options?: Partial<Dispatcher.RequestOptions> & { cookie?: string }): Promise<Dispatcher.ResponseData>;
  /** a GET to the ops listener */
  ops(path: string, method?: Dispatcher.HttpMethod): Promise<{ status: number; body: string }>;
  /** a session cookie for `host` (the user is created in the gateway's store) */
  sessionCookie(host: string): Promise<string>;
  close(): Promise<void>;
}

function captureLog(lines: LogLine[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
}

/** serve() a raw configuration written to a temp file; the log level is forced to info so tests can read it */
export async function startServed(
  raw: Record<string, unknown>,
  options: { installSignalHandlers?: boolean; env?: Record<string, string> } = {},
): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'regentra-serve-'));
  const file = join(dir, 'gateway.yaml');
  const write = (next: Record<string, unknown>) => writeFileSync(file, stringify({ ...next, log: { level: 'info' } }));
  write(raw);
  const env = options.env ?? {};
  const logs: LogLine[] = [];
  const { config } = loadConfigFile(file, env);
  const running = await serve(config, {
    installSignalHandlers: options.installSignalHandlers ?? false,
    configFile: file,
    env,
    logDestination: captureLog(logs),
  }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    running,
    file,
    logs,
    write,
    request(host, path, opts = {}) {
      const { cookie, headers, ...rest } = opts;
      return undiciRequest(`${running.url}${path}`, {
        method: 'GET',
        ...rest,
        headers: { host, ...(cookie ? { cookie } : {}), ...(headers as Record<string, string> | undefined) },
      });
    },
    async ops(path, method = 'GET') {
      const res = await undiciRequest(`${running.opsUrl}${path}`, { method });
      return { status: res.statusCode, body: await res.body.text() };
    },
    sessionCookie: (host) => sealedSessionCookie(running.app, running.config, running.store, host),
    async close() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** poll `check` until it returns true (or fail after timeoutMs) */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
