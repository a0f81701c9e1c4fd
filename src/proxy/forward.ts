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
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, type Pool } from 'undici';
import { clientHeaders } from './headers.ts';
import { track, untrack, type Timed } from './deadlines.ts';

export interface ExchangeHooks {
  /** the gateway's cookie names (as ownCookieNames gives them): upstreams may not set them */
  readonly ownCookies: ReadonlySet<string>;
  /** the upstream answered with `status` after `seconds` */
  answered(request: FastifyRequest, status: number, seconds: number): void;
  /** the upstream failed before anything was sent to the client: answer with an error page */
  failed(request: FastifyRequest, reply: FastifyReply, error: Error): void;
}

export interface ForwardOptions {
  readonly pool: Pool;
  /** path and query as the upstream receives them */
  readonly path: string;
  /** upstreamHeaders() */
  readonly headers: string[];
  /** headers and body (between chunks) timeout */
  readonly timeoutMs: number;
  /** send the response through Fastify (a cookie is to be set) */
  readonly viaFastify: boolean;
  /** a Set-Cookie to add to a direct response (a refreshed session: session/refresh-cache.ts) */
  readonly setCookie?: string;
}

type Abort = (err?: Error) => void;

/** Did the client declare a request body? (Node has parsed the framing; an empty body is none.) */
function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

const clientGoneError = () => Object.assign(new Error('the client went away'), { code: 'CLIENT_GONE' });

/** response bytes held for a slow client before the upstream is paused */
const RESPONSE_BUFFER = 128 * 1024;

const kExchange = Symbol('regentra.proxy.exchange');

function onResponseClose(this: ServerResponse & { [kExchange]?: Exchange }): void {
  this[kExchange]?.onClientClose();
  this[kExchange] = undefined;
}

/** the legacy undici handler (the one the HTTP/1 client calls without converting raw headers) */
export class Exchange implements Timed {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly hooks: ExchangeHooks;
  readonly viaFastify: boolean;
  /** added to a direct response (ForwardOptions.setCookie) */
  setCookie: string | undefined = undefined;
  readonly started = performance.now();
  abortUpstream: Abort | null = null;
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
  prevTimed: Timed | null = null;
  nextTimed: Timed | null = null;

  constructor(request: FastifyRequest, reply: FastifyReply, hooks: ExchangeHooks, viaFastify: boolean, timeoutMs: number) {
    this.request = request;
    this.reply = reply;
    this.hooks = hooks;
    this.viaFastify = viaFastify;
    this.timeoutMs = timeoutMs;
    // one shared listener (no closure per request): the response points to its exchange
    (reply.raw as ServerResponse & { [kExchange]?: Exchange })[kExchange] = this;
    reply.raw.on('close', onResponseClose);
  }

  onClientClose(): void {
    const res = this.reply.raw;
    if (!res.writableFinished) {
      this.clientGone = true;
      this.abortUpstream?.(clientGoneError());
    }
  }

  onConnect(abort: Abort): void {
    if (this.clientGone) {
      abort(clientGoneError());
      return;
    }
    this.abortUpstream = abort;
    this.lastActivity = performance.now();
    if (this.timeoutMs > 0 && !this.ended) track(this);
  }

  /** idle for longer than the timeout (deadlines.ts): the upstream is too slow */
  onDeadline(): void {
    if (this.ended) return;
    this.abortUpstream?.(this.headersDone ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError());
  }

  onBodySent(): void {
    this.lastActivity = performance.now();
  }

  onRequestSent(): void {
    this.lastActivity = performance.now();
  }

  /** the client took what was held back: let the upstream go on */
  onDrain(): void {
    this.paused = false;
    this.lastActivity = performance.now();
    this.resume?.();
  }

  private end(): void {
    this.ended = true;
    untrack(this);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational (103 Early Hints): not relayed
    this.headersDone = true;
    this.lastActivity = performance.now();
    this.resume = resume;
    const list = clientHeaders(raw, this.hooks.ownCookies);
    const request = this.request;
    // an HTTP/1.1 connection whose request body was not read to the end cannot carry another request
    if (!request.raw.complete) list.push('connection', 'close');
    const seconds = (performance.now() - this.started) / 1000;
    if (this.viaFastify) return this.startViaFastify(statusCode, list, seconds);
    if (this.setCookie !== undefined) list.push('set-cookie', this.setCookie);

    const res = this.reply.raw;
    try {
      res.writeHead(statusCode, list);
    } catch (err) {
      // a status or header value node:http refuses (the upstream's fault): nothing was sent yet
      this.headersDone = false;
      this.abortUpstream?.(err as Error);
      return false;
    }
    this.reply.hijack();
    this.hooks.answered(request, statusCode, seconds);
    return true;
  }

  startViaFastify(statusCode: number, list: string[], seconds: number): boolean {
    const reply = this.reply;
    reply.code(statusCode);
    for (let i = 0; i < list.length; i += 2) reply.header(list[i] as string, list[i + 1]);
    this.body = new Readable({ read: () => this.onDrain() });
    this.hooks.answered(this.request, statusCode, seconds);
    reply.send(this.body);
    return true;
  }

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
    if (this.body !== null) this.body.push(null);
    else this.reply.raw.end();
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

/** Forward `request` to the upstream and relay the response to `reply`. */
export function forward(request: FastifyRequest, reply: FastifyReply, opts: ForwardOptions, hooks: ExchangeHooks): void {
  const exchange = new Exchange(request, reply, hooks, opts.viaFastify, opts.timeoutMs);
  exchange.setCookie = opts.setCookie;
  opts.pool.dispatch(
    {
      path: opts.path,
      method: request.method,
      headers: opts.headers,
      body: hasBody(request) ? request.raw : null,
      // the exchange keeps its own timeouts (see the top of this file)
      headersTimeout: 0,
      bodyTimeout: 0,
    },
    exchange,
  );
}
