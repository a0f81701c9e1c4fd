/**
 * WebSocket round trips: `connections` clients each send a 64-byte text message,
 * wait for its echo, and repeat, for the duration (after a warm-up). Reports round
 * trips per second, the round-trip time's median and 99th percentile, and the
 * server's CPU time (see processes.ts), in the shape of an HTTP LoadResult.
 */
import WebSocket from 'ws';
import { treeCpuSeconds } from './processes.ts';
import type { LoadResult } from './load.ts';

export interface WsLoadOptions {
  /** ws://host:port/path */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly serverPid?: number;
}

const MESSAGE = 'x'.repeat(64);

function open(opts: WsLoadOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url, { headers: { ...opts.headers }, perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    // the bench upstream greets each connection first
    ws.once('message', () => resolve(ws));
  });
}

/** ping-pong on every socket until `until`; round-trip times in ms */
function loop(sockets: readonly WebSocket[], until: number, times: number[] | null): Promise<number> {
  let count = 0;
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let sent = 0;
          const send = () => {
            if (performance.now() >= until) {
              ws.off('message', onMessage);
              return resolve();
            }
            sent = performance.now();
            ws.send(MESSAGE);
          };
          const onMessage = () => {
            count++;
            times?.push(performance.now() - sent);
            send();
          };
          ws.on('message', onMessage);
          send();
        }),
    ),
  ).then(() => count);
}

export async function measureWs(opts: WsLoadOptions): Promise<LoadResult> {
  const sockets = await Promise.all(Array.from({ length: opts.connections }, () => open(opts)));
  try {
    if (opts.warmupSeconds > 0) await loop(sockets, performance.now() + opts.warmupSeconds * 1000, null);
    const times: number[] = [];
    const cpu = () => (opts.serverPid === undefined ? Number.NaN : treeCpuSeconds(opts.serverPid));
    const before = cpu();
    const started = performance.now();
    const count = await loop(sockets, started + opts.durationSeconds * 1000, times);
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpu() - before;
    const sorted = Float64Array.from(times).sort();
    const pct = (p: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number));
    return {
      tool: 'ws',
      requests: count,
      rps: count / seconds,
      p50: pct(50),
      p99: pct(99),
      errors: 0,
      non2xx: 0,
      cpuSeconds,
      perCpuSecond: count / cpuSeconds,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}
