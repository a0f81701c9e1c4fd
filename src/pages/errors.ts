/**
 * Error responses: a helpful page for people, a JSON body for API clients, both
 * built from the error catalogue and carrying the request's correlation id.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, type GatewayError } from '../errors.ts';
import { html, type SafeHtml } from './html.ts';
import { sendPage } from './layout.ts';

/** A browser (a form post or a navigation) rather than an API client: it accepts HTML. */
export function acceptsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** A browser navigation (GET/HEAD that accepts HTML) rather than an API or XHR call. */
export function wantsHtml(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (!acceptsHtml(request)) return false;
  const xrw = request.headers['x-requested-with'];
  return !(typeof xrw === 'string' && xrw.toLowerCase() === 'xmlhttprequest');
}

/** Answer a GatewayError: its catalogue entry, as its presentation asks. */
export function replyGatewayError(request: FastifyRequest, reply: FastifyReply, err: GatewayError): FastifyReply {
  const p = err.presentation;
  if (p.redirectPage !== undefined && wantsHtml(request)) return reply.code(303).header('cache-control', 'no-store').redirect(p.redirectPage);
  return replyError(request, reply, err.code, {
    ...(err.detail !== undefined ? { detail: err.detail } : {}),
    ...(p.html !== undefined ? { html: p.html } : {}),
    ...(p.headers !== undefined ? { headers: p.headers } : {}),
    ...(p.next !== undefined ? { extra: html`<a class="btn" href="${p.next.href}">${p.next.label}</a>` } : {}),
  });
}

export interface ErrorReplyOptions {
  /** safe extra detail shown to the user and returned in JSON */
  readonly detail?: string;
  /** extra HTML (e.g. an admin hint, a link back) */
  readonly extra?: SafeHtml;
  /** override the catalogue's title/message for this occurrence */
  readonly title?: string;
  readonly message?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** force the page (forms posted by browsers are not GETs but want HTML) */
  readonly html?: boolean;
  /** the reference and time of the request that failed, when this page shows it later */
  readonly reference?: { readonly id: string; readonly at: number };
}

export function replyError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, opts: ErrorReplyOptions = {}): FastifyReply {
  const spec = ERRORS[code];
  const title = opts.title ?? spec.title;
  const message = opts.message ?? spec.message;
  if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) reply.header(k, v);
  reply.header('x-request-id', request.id);
  if (!(opts.html ?? wantsHtml(request))) {
    return reply
      .code(spec.status)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send({ error: code.toLowerCase(), message, ...(opts.detail ? { detail: opts.detail } : {}), requestId: request.id });
  }
  const site = (request as FastifyRequest & { site?: { name: string } }).site;
  return sendPage(reply, spec.status, {
    title,
    siteName: site?.name,
    body: html`<h1>${title}</h1>
<p class="lead">${message}</p>
${opts.detail ? html`<div class="alert warn">${opts.detail}</div>` : ''}
${opts.extra ?? ''}
<p class="meta">Reference: ${opts.reference?.id ?? request.id} · ${new Date(opts.reference?.at ?? Date.now()).toISOString()}</p>`,
  });
}
