/**
 * The access log: one JSON line per answered request, "request completed", written by
 * both ways a request is answered (Fastify's RequestLogController, src/ops/lazy-logger.ts,
 * and the fast lane, src/proxy/lane.ts) through one function.
 *
 * The line has fixed fields, so it is formatted here as one string and handed to the
 * logger's destination, as pino would have written it (the same keys in the same order:
 * level, time, service, reqId, req {method, url, host, ip}, res {statusCode}, responseTime,
 * msg). Why not pino itself: pino's general path (merging the fields, walking them with its
 * serializers, stringifying the object) cost 2.5 µs a line on this machine, this 0.7 µs
 * (issue #17: the access log at info is to cost at most 10 % of the throughput). Strings
 * from the request are escaped with JSON.stringify, and the URL's credentials are redacted
 * (redact-url.ts) as the logger's `req` serializer does.
 */
import type { DestinationStream } from 'pino';
import { redactCredentials } from './redact-url.ts';

/** the `service` field of every line (ops/logger.ts's base) */
export const SERVICE = 'regentra-gateway';

/** what one access-log line says */
export interface AccessEntry {
  readonly reqId: string;
  readonly method: string;
  /** the request target as received (credentials are redacted when written) */
  readonly url: string;
  readonly host: string | undefined;
  readonly ip: string | undefined;
  readonly statusCode: number;
  /** milliseconds (written to the microsecond) */
  readonly responseTime: number;
}

/** where access-log lines go; the caller has checked that info is enabled */
export interface AccessLog {
  completed(entry: AccessEntry): void;
}

/** a logger's info(), for the access log of a gateway not built with createLogger (tests, `logger: false`) */
interface InfoLogger {
  info(obj: object, msg: string): void;
}

let second = Number.NaN;
/** `YYYY-MM-DDTHH:mm:ss.` of `second` */
let secondPrefix = '';

/**
 * `new Date(now).toISOString()` for a time in milliseconds, with the part up to the second
 * formatted once per second: toISOString costs about 400 ns, which a line paid whenever it
 * was the first of its millisecond (every line of a gateway answering fewer than a few
 * thousand requests a second)
 */
export function isoTime(now: number): string {
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    secondPrefix = new Date(s * 1000).toISOString().slice(0, 20);
  }
  const ms = now - s * 1000;
  return `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

let stampedAt = -1;
let stamp = '';

/** `,"time":"…"` as pino wants it (every line of the gateway's logger), formatted once per millisecond */
export function timestamp(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${isoTime(now)}"`;
  }
  return stamp;
}

/**
 * What JSON.stringify escapes in a string: `"`, `\`, the control characters, and lone
 * surrogates (a pair is tested here too, and left to JSON.stringify, which keeps it).
 */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
/**
 * `value` as a JSON string: as it is between quotes when nothing in it needs escaping (a
 * request's method, path, host and address nearly always), else JSON.stringify's. Measured
 * in a loop of lines (issue #17): quoting the line's five strings this way instead of calling
 * JSON.stringify on each saved about 180 ns a line.
 */
export const jsonString = (value: string): string => (NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`);
const field = (name: string, value: string | undefined): string => (value === undefined ? '' : `,"${name}":${jsonString(value)}`);
const status = (value: number): string => (Number.isInteger(value) ? String(value) : 'null');
/** the largest response time (ms) written from whole microseconds: 2^31 µs, 35 minutes */
const MICROS_LIMIT_MS = 2 ** 31 / 1000;
/**
 * Milliseconds to the microsecond (`1.235`), as `toFixed(3)` writes them: from the whole
 * number of microseconds, which V8 turns into digits from its cache of small numbers, where
 * toFixed calls into the runtime (52 ns a line against 81: issue #17). Longer times (a
 * WebSocket or a long download) and negative ones take toFixed; a value that is not a number
 * is written as `null`, as JSON.stringify would.
 */
export function millis(value: number): string {
  if (!(value >= 0 && value < MICROS_LIMIT_MS)) return Number.isFinite(value) ? value.toFixed(3) : 'null';
  const micros = Math.round(value * 1000);
  const whole = Math.floor(micros / 1000);
  const frac = micros - whole * 1000;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** the response time as it is written (to the microsecond) */
export const roundedMillis = (value: number): number => Number(millis(value));

/**
 * The line as pino writes it at info, with its newline. Nearly every line has a host and an
 * address and nothing to escape: it is one template, its strings between plain quotes (the
 * five tests cost about 37 ns each; quoting each string on its own made seven more strings a
 * line, 45 ns more: issue #17). Otherwise each string is escaped as JSON.stringify would, and
 * a missing host or address is left out.
 */
export function accessLine(e: AccessEntry): string {
  const { reqId, method, host, ip } = e;
  const url = redactCredentials(e.url);
  if (
    host !== undefined &&
    ip !== undefined &&
    !NEEDS_ESCAPE.test(reqId) &&
    !NEEDS_ESCAPE.test(method) &&
    !NEEDS_ESCAPE.test(url) &&
    !NEEDS_ESCAPE.test(host) &&
    !NEEDS_ESCAPE.test(ip)
  )
    return `{"level":30${timestamp()},"service":"${SERVICE}","reqId":"${reqId}","req":{"method":"${method}","url":"${url}","host":"${host}","ip":"${ip}"},"res":{"statusCode":${status(e.statusCode)}},"responseTime":${millis(e.responseTime)},"msg":"request completed"}\n`;
  return `{"level":30${timestamp()},"service":"${SERVICE}","reqId":${jsonString(reqId)},"req":{"method":${jsonString(method)},"url":${jsonString(url)}${field('host', host)}${field('ip', ip)}},"res":{"statusCode":${status(e.statusCode)}},"responseTime":${millis(e.responseTime)},"msg":"request completed"}\n`;
}

/** lines written straight to a pino destination (createLogger's; see ops/logger.ts accessLogOf) */
export function destinationAccessLog(destination: DestinationStream): AccessLog {
  return Object.freeze({
    completed(entry: AccessEntry): void {
      destination.write(accessLine(entry));
    },
  });
}

/** lines written through a logger (the same fields; its serializers redact the URL) */
export function loggerAccessLog(logger: InfoLogger): AccessLog {
  return Object.freeze({
    completed(e: AccessEntry): void {
      logger.info(
        {
          reqId: e.reqId,
          req: { method: e.method, url: e.url, host: e.host, ip: e.ip },
          res: { statusCode: e.statusCode },
          responseTime: roundedMillis(e.responseTime),
        },
        'request completed',
      );
    },
  });
}
