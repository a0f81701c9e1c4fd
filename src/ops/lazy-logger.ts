/**
 * Request logging that costs nothing when nothing is written.
 *
 * Fastify gives every request its own child logger (bound to the request id).
 * With pino and our redaction rules, making one costs more than a whole proxied
 * request's header work, and most requests never log a line at the configured
 * level (the access-log lines are at info; the default production level logs them,
 * `warn` does not). This child is made on the first line that is actually
 * written, so a request that logs nothing costs one small object.
 *
 * And Fastify's two access-log lines per request ("incoming request", "request
 * completed", at info) build their arguments before the level is looked at. With
 * RequestLogController a request writes ONE access-log line, "request completed",
 * carrying the request (method, url, host, ip), the status and the response time; it is
 * built only when info is enabled, and written through the parent logger with the
 * request id bound in the line, so that no child logger is made for it (issue #17: the
 * access log at info cost 27 % of the throughput). Every other line Fastify writes
 * (errors, warnings) is unchanged.
 *
 * Use: Fastify({ childLoggerFactory: lazyChildLogger, logController: new RequestLogController() }).
 */
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';
import type { AccessLog } from './access-log.ts';

type LogFn = FastifyBaseLogger['info'];

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

class LazyChild {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #child: FastifyBaseLogger | null = null;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  /** the real child logger, made on first use */
  get real(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options));
  }

  /** would a line at `level` be written? (the parent's level until the child exists) */
  enabled(level: string): boolean {
    const logger = this.#child ?? this.#parent;
    const withCheck = logger as FastifyBaseLogger & { isLevelEnabled?(l: string): boolean };
    return withCheck.isLevelEnabled === undefined ? true : withCheck.isLevelEnabled(level);
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.real.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return this.enabled(level);
  }

  /** one line at info with this request's bindings, without making the child logger for it */
  infoLine(obj: Record<string, unknown>, msg: string): void {
    if (this.#child !== null) this.#child.info(obj, msg);
    else this.#parent.info({ ...this.#bindings, ...obj }, msg);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  silent(): void {}
}

for (const level of LEVELS) {
  Object.defineProperty(LazyChild.prototype, level, {
    value: function (this: LazyChild, ...args: Parameters<LogFn>) {
      if (this.enabled(level)) this.real[level](...args);
    },
  });
}

export function lazyChildLogger(this: FastifyInstance, logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // not pino (logging disabled): nothing to save
  if (typeof (logger as { isLevelEnabled?: unknown }).isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new LazyChild(logger, bindings, options) as unknown as FastifyBaseLogger;
}

const infoEnabled = (request: FastifyRequest) =>
  (request.log as FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') === true;

export class RequestLogController extends LogController {
  readonly #access: AccessLog | undefined;

  /**
   * `access`: where access-log lines go (ops/logger.ts's accessLogOf: the logger's destination,
   * one preformatted line); by default the request's logger.
   */
  constructor(access?: AccessLog) {
    super();
    this.#access = access;
  }

  /** nothing: the one access-log line is written when the response is done (it carries the request) */
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error) {
      super.requestCompleted(error, request, reply, metadata);
      return;
    }
    if (!infoEnabled(request)) return;
    if (this.#access !== undefined) {
      this.#access.completed({
        reqId: request.id,
        method: request.method,
        url: request.url,
        host: request.headers.host,
        ip: request.ip,
        statusCode: reply.statusCode,
        responseTime: reply.elapsedTime,
      });
      return;
    }
    const line = {
      req: { method: request.method, url: request.url, host: request.headers.host, ip: request.ip },
      res: { statusCode: reply.statusCode },
      responseTime: reply.elapsedTime,
    };
    const log = request.log;
    if (log instanceof LazyChild) log.infoLine(line, 'request completed');
    else log.info(line, 'request completed');
  }
}
