/**
 * One proxied HTTP exchange on undici's dispatcher API, without a client-side
 * request/response object in between: the request body streams from the client's
 * IncomingMessage to the upstream socket, and the upstream's response is written
 * straight to the client's ServerResponse, with back-pressure both ways (a slow
 * reader pauses the upstream; a slow upstream pauses the upload).
 *
 * Two ways to send the response:
 * - direct (the usual case): the reply is hijacked from Fastify and the status,
 *   headers and body go to `reply.raw`. Fastify's onSend hooks do not run (its
 *   onResponse hooks and access log still do: they listen on the response).
 * - through Fastify (`viaFastify`): when the gate changed the session (a refreshed
 *   or re-sealed cookie must be set), the body goes through `reply.send(stream)`
 *   so that the session plugin's onSend hook adds its Set-Cookie.
 *
 * Failures before any response byte (refused, reset, timeouts) become the 502/504
 * pages through `failed`; after that, the client connection is cut so the client
 * sees a truncated response, never a complete-looking one.
 *
 * Timeouts are the exchange's own (deadlines.ts: no timer per request), not undici's
 * headersTimeout/bodyTimeout, whose timers outlive their requests (see deadlines.ts).
 * The semantics are undici's: the response headers must come within `timeoutMs` of the
 * last byte of the request sent (or of the last upload progress, while the upload
 * runs), and the body may not stall for longer than `timeoutMs` between chunks unless
 * the client is the slow one.
 *
 * A request body is handed to undici as the client's IncomingMessage itself. Its progress
 * is looked at only when a deadline comes due — has the client's connection read more
 * since the last look? then the upload is moving and the deadline moves on — and its end
 * is an `end` listener (which does not start the stream's flow). Wrapping the body to
 * mark progress at every chunk (an async generator in a Readable) cost 9 % of a 1 MB
 * upload's throughput (paired run, docs/performance.md round four).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
// imported, not the global: globalThis.performance is a getter, called at every use on the hot path
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, type Dispatcher, type Pool } from 'undici';
import type { ProxiedReply, ProxiedRequest } from './types.ts';
import { clientHeaders } from './headers.ts';
import { track, untrack, type Timed } from './deadlines.ts';

export interface ExchangeHooks<Req extends ProxiedRequest = FastifyRequest, Rep extends ProxiedReply = FastifyReply> {
  /** the gateway's cookie names (as ownCookieNames gives them): upstreams may not set them */
  readonly ownCookies: ReadonlySet<string>;
  /** the upstream answered with `status` after `seconds` */
  answered(request: Req, status: number, seconds: number): void;
  /** the upstream failed before anything was sent to the client: answer with an error page */
  failed(request: Req, reply: Rep, error: Error): void;
  /** a direct response (not through Fastify) was written to its end, with `status` */
  ended?(request: Req, status: number): void;
}

export interface ForwardOptions {
  readonly pool: Pool;
  /** path and query as the upstream receives them */
  readonly path: string;
  /** upstreamHeaders() */
  readonly headers: string[];
  /** headers and body (between chunks) timeout */
  readonly timeoutMs: number;
  /** send the response through Fastify, with this reply (a cookie is to be set); absent: direct */
  readonly viaFastify?: FastifyReply;
  /** a Set-Cookie to add to a direct response (a refreshed session: session/refresh-cache.ts) */
  readonly setCookie?: string;
}

/** Did the client declare a request body? (Node has parsed the framing; an empty body is none.) */
export function hasBody(h: IncomingHttpHeaders): boolean {
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

const clientGoneError = () => Object.assign(new Error('the client went away'), { code: 'CLIENT_GONE' });

/** response bytes held for a slow client before the upstream is paused */
const RESPONSE_BUFFER = 128 * 1024;

const kExchange = Symbol('regentra.proxy.exchange');

function onResponseClose(this: ServerResponse & { [kExchange]?: { onClientClose(): void } }): void {
  this[kExchange]?.onClientClose();
  this[kExchange] = undefined;
}

/**
 * One exchange, as an undici dispatch handler on the callbacks undici's client calls
 * itself (onConnect, onHeaders, onData, onComplete, onError; what undici's own request()
 * implements): abort and resume are the functions undici hands over, and a `false` from
 * onHeaders or onData pauses the upstream.
 *
 * Why not the onRequestStart/onResponse* handler API: in undici 7 it is an adaptor over
 * these callbacks (lib/handler/unwrap-handler.js) that builds an object of every
 * response's headers (and trailers) before calling it, which cost ~1 µs a request, 2 % of
 * a proxied small GET (docs/performance.md, round eleven); the head is relayed from the
 * raw list here. undici's types mark these callbacks deprecated in favour of that API:
 * when a major version drops them, this class moves to it.
 */
export class Exchange<Req extends ProxiedRequest = FastifyRequest, Rep extends ProxiedReply = FastifyReply> implements Timed, Dispatcher.DispatchHandler {
  readonly request: Req;
  readonly reply: Rep;
  readonly hooks: ExchangeHooks<Req, Rep>;
  /** the response goes through Fastify (ForwardOptions.viaFastify) */
  readonly viaFastify: FastifyReply | undefined;
  /** added to a direct response (ForwardOptions.setCookie) */
  setCookie: string | undefined = undefined;
  readonly started = performance.now();
  /** undici's abort of the upstream request, once it started (onConnect) */
  abort: ((err?: Error) => void) | null = null;
  /** undici's resume of a paused upstream response (onHeaders) */
  resume: (() => void) | null = null;
  /** the response body handed to Fastify (viaFastify only) */
  body: Readable | null = null;
  clientGone = false;
  headersDone = false;
  /** the upstream's response is held back because the client reads slowly */
  paused = false;
  /** the exchange has completed or failed */
  ended = false;
  readonly timeoutMs: number;
  /** performance.now() of the last progress (request bytes sent, response bytes received) */
  lastActivity = 0;
  /** while a request body is being uploaded: the client connection's bytesRead at the last look (-1: no upload under way) */
  uploadMark = -1;
  prevTimed: Timed | null = null;
  nextTimed: Timed | null = null;

  constructor(request: Req, reply: Rep, hooks: ExchangeHooks<Req, Rep>, viaFastify: FastifyReply | undefined, timeoutMs: number) {
    this.request = request;
    this.reply = reply;
    this.hooks = hooks;
    this.viaFastify = viaFastify;
    this.timeoutMs = timeoutMs;
    // one shared listener (no closure per request): the response points to its exchange
    (reply.raw as ServerResponse & { [kExchange]?: Timed & { onClientClose(): void } })[kExchange] = this;
    reply.raw.on('close', onResponseClose);
  }

  onClientClose(): void {
    const res = this.reply.raw;
    if (!res.writableFinished) {
      this.clientGone = true;
      this.abort?.(clientGoneError());
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.clientGone) {
      abort(clientGoneError());
      return;
    }
    this.abort = abort;
    this.lastActivity = performance.now();
    if (this.timeoutMs > 0 && !this.ended) track(this);
  }

  /** idle for longer than the timeout (deadlines.ts): the upstream is too slow, unless the upload is still moving */
  onDeadline(): void {
    if (this.ended) return;
    if (this.uploadMoved()) {
      this.lastActivity = performance.now();
      track(this);
      return;
    }
    this.abort?.(this.headersDone ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError());
  }

  /** has the client's connection read more of the upload since the last look? */
  uploadMoved(): boolean {
    if (this.uploadMark < 0) return false;
    const read = this.request.raw.socket?.bytesRead ?? this.uploadMark;
    if (read === this.uploadMark) return false;
    this.uploadMark = read;
    return true;
  }

  /** the whole request body went to the upstream: from now on the wait is for the answer */
  onUploadEnd(): void {
    this.uploadMark = -1;
    this.lastActivity = performance.now();
  }

  /** the client took what was held back: let the upstream go on */
  onDrain(): void {
    const paused = this.paused;
    this.paused = false;
    this.lastActivity = performance.now();
    // only a pause of this exchange's own: the parser it would resume may be the next request's by now
    if (paused && !this.ended) this.resume?.();
  }

  private end(): void {
    this.ended = true;
    untrack(this);
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational (103 Early Hints): not relayed
    this.resume = resume;
    this.headersDone = true;
    const now = performance.now();
    this.lastActivity = now;
    const list = clientHeaders(headers, this.hooks.ownCookies);
    const request = this.request;
    // an HTTP/1.1 connection whose request body was not read to the end cannot carry another request
    if (!request.raw.complete) list.push('connection', 'close');
    const seconds = (now - this.started) / 1000;
    if (this.viaFastify !== undefined) {
      this.startViaFastify(this.viaFastify, statusCode, list, seconds);
      return true;
    }
    if (this.setCookie !== undefined) list.push('set-cookie', this.setCookie);

    const res = this.reply.raw;
    try {
      res.writeHead(statusCode, list);
    } catch (err) {
      // a status or header value node:http refuses (the upstream's fault): nothing was sent yet
      this.headersDone = false;
      this.abort?.(err as Error);
      return true;
    }
    this.reply.hijack();
    this.hooks.answered(request, statusCode, seconds);
    return true;
  }

  startViaFastify(reply: FastifyReply, statusCode: number, list: string[], seconds: number): void {
    reply.code(statusCode);
    for (let i = 0; i < list.length; i += 2) reply.header(list[i] as string, list[i + 1]);
    this.body = new Readable({ read: () => this.onDrain() });
    this.hooks.answered(this.request, statusCode, seconds);
    reply.send(this.body);
  }

  /** a chunk of the response body; `false` pauses the upstream until onDrain resumes it */
  onData(chunk: Buffer): boolean {
    this.lastActivity = performance.now();
    if (this.body !== null) {
      this.paused = !this.body.push(chunk);
      return !this.paused;
    }
    const res = this.reply.raw;
    // the upstream is paused only when the client is really behind: pausing and resuming
    // undici's parser for every write that does not go out at once costs more than it saves
    if (res.write(chunk) || res.writableLength < RESPONSE_BUFFER) return true;
    this.paused = true;
    res.once('drain', () => this.onDrain());
    return false;
  }

  onComplete(): void {
    this.end();
    if (this.body !== null) {
      this.body.push(null);
      return;
    }
    const res = this.reply.raw;
    res.end();
    this.hooks.ended?.(this.request, res.statusCode);
  }

  onError(err: Error): void {
    this.end();
    if (this.clientGone) return;
    if (this.body !== null) {
      this.body.destroy(err);
      return;
    }
    const res = this.reply.raw;
    if (this.headersDone || res.headersSent) {
      res.destroy();
      return;
    }
    this.hooks.failed(this.request, this.reply, err);
  }
}

const kUpload = Symbol('regentra.proxy.upload');

/** the client's request body ended (one shared listener: the request points to its exchange) */
function onUploadEnd(this: IncomingMessage & { [kUpload]?: { onUploadEnd(): void } }): void {
  this[kUpload]?.onUploadEnd();
  this[kUpload] = undefined;
}

/** Forward `request` to the upstream and relay the response to `reply`. */
export function forward<Req extends ProxiedRequest, Rep extends ProxiedReply>(
  request: Req,
  reply: Rep,
  opts: ForwardOptions,
  hooks: ExchangeHooks<Req, Rep>,
): void {
  const exchange = new Exchange<Req, Rep>(request, reply, hooks, opts.viaFastify, opts.timeoutMs);
  exchange.setCookie = opts.setCookie;
  // the body as it comes; its progress is looked at when a deadline is due (see the top of this file)
  const raw = request.raw as IncomingMessage & { [kUpload]?: { onUploadEnd(): void } };
  const body = hasBody(request.headers) ? raw : null;
  if (body !== null) {
    exchange.uploadMark = raw.socket?.bytesRead ?? 0;
    raw[kUpload] = exchange;
    raw.on('end', onUploadEnd);
  }
  opts.pool.dispatch(
    {
      path: opts.path,
      method: request.method,
      headers: opts.headers,
      body,
      // the exchange keeps its own timeouts (see the top of this file)
      headersTimeout: 0,
      bodyTimeout: 0,
    },
    exchange,
  );
}
