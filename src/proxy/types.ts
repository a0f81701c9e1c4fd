/**
 * The two views of a request the proxy engine works with, so that Fastify's route
 * and the fast lane (lane.ts) hand it the same thing: a FastifyRequest/FastifyReply
 * has every field; the lane builds them from node:http's request and response.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Site } from '../routing/sites.ts';

/**
 * What the proxy engine reads of a request: a FastifyRequest has all of it; the fast
 * lane (lane.ts) builds one from the raw request. `url` is the canonical path and query.
 */
export interface ProxiedRequest {
  readonly raw: IncomingMessage;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly site: Site;
  /** the scheme the client used (Fastify's request.protocol) */
  readonly protocol: string;
  /** the host the client asked for: the Host header, or a trusted proxy's X-Forwarded-Host (Fastify's request.host) */
  readonly host: string;
  /** the client and the trusted proxies before it (Fastify's request.ips; absent without trusted proxies) */
  readonly ips?: readonly string[] | undefined;
}

/** What the proxy engine does with the answer: a FastifyReply has all of it. */
export interface ProxiedReply {
  readonly raw: ServerResponse;
  /** the engine writes the response itself from here on */
  hijack(): unknown;
  readonly sent: boolean;
}
