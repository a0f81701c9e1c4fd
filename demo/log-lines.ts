/**
 * The demo's log output on a terminal: one short line per request instead of pino's
 * JSON, so that the start-up banner stays readable (pino-pretty is not a dependency).
 * Not a terminal (piped, CI): the gateway's usual JSON lines, untouched.
 *
 *   14:05:03  GET   staff.localhost:8080 /dashboard → 200  12 ms
 *   14:05:04  WARN  sso sign-in failed (code IDP_UNAVAILABLE)
 */
import type { DestinationStream } from 'pino';

interface Line {
  level?: number;
  time?: string | number;
  msg?: string;
  reqId?: string;
  req?: { method?: string; url?: string; host?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  code?: unknown;
  err?: { message?: unknown };
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function clock(time: Line['time']): string {
  const d = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date();
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toTimeString().slice(0, 8);
}

/** A pino destination writing one short line per finished request (and per warning, error or notice). */
export function terminalLogLines(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(chunk: string): void {
      for (const text of chunk.split('\n')) {
        if (!text) continue;
        let l: Line;
        try {
          l = JSON.parse(text) as Line;
        } catch {
          out.write(`${text}\n`);
          continue;
        }
        // the access log's one line per request ("request completed") carries method, host, URL and status
        if (l.msg === 'request completed') {
          const req = l.req ?? {};
          const ms = typeof l.responseTime === 'number' ? `${Math.round(l.responseTime)} ms` : '';
          out.write(`${clock(l.time)}  ${(req.method ?? '?').padEnd(5)} ${req.host ?? ''} ${req.url ?? ''} → ${l.res?.statusCode ?? '?'}  ${ms}\n`);
          continue;
        }
        const level = LEVELS[l.level ?? 30] ?? 'INFO';
        const detail = typeof l.code === 'string' ? ` (code ${l.code})` : typeof l.err?.message === 'string' ? ` (${l.err.message.slice(0, 200)})` : '';
        out.write(`${clock(l.time)}  ${level.padEnd(5)} ${l.msg ?? ''}${detail}\n`);
      }
    },
  };
}
