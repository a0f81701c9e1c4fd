/**
 * The onRequest hook of a person's own pages (the sign-in pages, /.auth/account): never
 * stored by a cache, and never served on the central callback host, which has no realm
 * of its own.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { noStore } from '../session/plugin.ts';
import { replyError } from '../pages/errors.ts';

export function personalPages(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  noStore(reply);
  if (request.site.kind === 'central') {
    replyError(request, reply, 'NOT_FOUND');
    return;
  }
  done();
}
