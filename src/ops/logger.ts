/**
 * pino logger options: JSON lines, request ids, and redaction of every place a
 * secret or a cookie could appear: fields by name (REDACT_PATHS), and credentials in
 * URLs (`?code=`, `?state=`, `?ticket=`…: redact-url.ts) wherever a URL is written —
 * the request's `url`, any top-level `url`/`originalUrl`, error messages and stacks,
 * and the message strings themselves (Fastify's own embed the raw URL).
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactCredentials } from './redact-url.ts';
import { BatchedLogDestination } from './log-destination.ts';
import { destinationAccessLog, SERVICE, timestamp, type AccessLog } from './access-log.ts';

export const REDACT_PATHS: readonly string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-regentra-identity"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.clientSecret',
  '*.privateKey',
  '*.privateKeyPem',
  '*.client_secret',
  '*.secret',
  '*.totpSecret',
  // an authorization code in a logged query, params or body object (never `*.code`: that
  // would blank every error code such as ECONNREFUSED or AADSTS classifications)
  'query.code',
  '*.query.code',
  'params.code',
  '*.params.code',
  'body.code',
  '*.body.code',
  '*.access_token',
  '*.id_token',
  '*.refresh_token',
];

type Fields = Record<string, unknown>;

/** an error (or an `{ message, code }` object) with credentials out of its message and stack */
function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  if (out === null || typeof out !== 'object') return out;
  const copy: Fields = { ...(out as Fields) };
  // node:http's clientError carries the raw request bytes (the request line with its query, cookies)
  delete copy.rawPacket;
  for (const key of ['message', 'stack', 'url'] as const) {
    const v = copy[key];
    if (typeof v === 'string') copy[key] = redactCredentials(v);
  }
  // an error's cause, serialized as an object: its message may embed a URL too
  if (copy.cause !== null && typeof copy.cause === 'object') copy.cause = serializeError(copy.cause);
  return copy;
}

/** `{ name, code, message }` summaries of an error's cause (src/auth/entra/errors.ts logFields) */
function serializeCause(cause: unknown): unknown {
  if (cause === null || typeof cause !== 'object') return cause;
  const message = (cause as Fields).message;
  return typeof message === 'string' ? { ...(cause as Fields), message: redactCredentials(message) } : cause;
}

const urlField = (url: unknown) => (typeof url === 'string' ? redactCredentials(url) : url);

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { service: SERVICE },
    timestamp,
    serializers: {
      // a request (Fastify's or node's), or the access log's own { method, url, host, ip } (lazy-logger.ts);
      // credentials in the URL are redacted here (the access twin logger drops only the path redaction)
      req(req: { method: string; url: string; headers?: Record<string, unknown>; host?: unknown; ip?: string; id?: string }) {
        return { method: req.method, url: redactCredentials(req.url), host: req.headers === undefined ? req.host : req.headers.host, ip: req.ip };
      },
      err: serializeError,
      cause: serializeCause,
      url: urlField,
      originalUrl: urlField,
    },
    hooks: {
      // message strings (and their %s arguments): Fastify's own embed raw URLs ("Route GET:/x?code=… not found")
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (typeof a === 'string' && a.indexOf('=') !== -1) args[i] = redactCredentials(a);
        }
        return method.apply(this, args);
      },
    },
  };
}

/**
 * The process's logger: JSON lines to `destination`, by default stdout written in batches
 * (16 KiB, or 100 ms after a batch's first line), off the request path (./log-destination.ts; issue #17:
 * the access log at info cost 27 % of the throughput with one write system call per line).
 *
 * Nothing is lost on a graceful stop: serve() waits for closeLogger() before it says it has
 * stopped. On a crash (an uncaught exception, process.exit) the destination writes what is
 * pending from the process's 'exit' event. Only SIGKILL or a crash of Node itself loses the
 * lines of the last 100 ms.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const own = destination === undefined ? new BatchedLogDestination(1) : null;
  const dest = destination ?? (own as BatchedLogDestination);
  const logger = pino(loggerOptions(level), dest);
  if (own) owned.set(logger, own);
  // the access-log line has fixed fields, formatted without pino's general path (./access-log.ts)
  accessLogs.set(logger, destinationAccessLog(dest));
  return logger;
}

const accessLogs = new WeakMap<object, AccessLog>();
const owned = new WeakMap<object, BatchedLogDestination>();

/** Where access-log lines go for `logger` (createLogger's: its destination; not its children), or undefined. */
export function accessLogOf(logger: object): AccessLog | undefined {
  return accessLogs.get(logger);
}

/**
 * Resolves once every line logged so far is written (at most `limitMs`); the destination
 * createLogger made then stops listening for 'exit' (lines logged later are still written).
 */
export function closeLogger(logger: Logger, limitMs = 2_000): Promise<void> {
  return new Promise<void>((resolve) => {
    // a destination that cannot drain (its reader is gone) must not hold the stop forever
    setTimeout(resolve, limitMs).unref();
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  }).then(() => owned.get(logger)?.close());
}
