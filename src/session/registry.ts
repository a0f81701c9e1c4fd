/**
 * The registry of signed-in sessions (the store's `sessions` table), for the account
 * page's "your sessions" and "sign out the others". It is a record, not the gate: a
 * session is valid by its sealed cookie and the revocation checks (./revocation.ts),
 * whether or not its row exists, so writes here are best effort (logged, never failing
 * a request).
 *
 * Written when a session starts; `last seen` is refreshed at most every TOUCH_MS per
 * session per replica (not per request); a row ends with the session's absolute
 * lifetime (purged after) or when the session is signed out.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/types.ts';
import { boundedCache } from '../util/bounded-cache.ts';
import type { SessionData } from './types.ts';

export const TOUCH_MS = 5 * 60_000;
const MAX_USER_AGENT = 400;

/** who made the request (a FastifyRequest, or the fast lane's raw request): its User-Agent and address */
export interface RequestOrigin {
  readonly headers: IncomingHttpHeaders;
  readonly ip?: string | undefined;
}

export interface SessionRegistry {
  /** a new session: recorded at once */
  started(session: SessionData, request: RequestOrigin): void;
  /** a request in a valid session: `last seen` written when the last write is TOUCH_MS old */
  seen(session: SessionData, request: RequestOrigin, now: number): void;
  /** a session ended here (sign-out): its row goes */
  ended(sid: string): void;
}

export function storeRegistry(store: Store, opts: { readonly lifetimeMs: number; readonly log: FastifyBaseLogger }): SessionRegistry {
  const written = boundedCache<string, number>(200_000);

  function write(session: SessionData, request: RequestOrigin, at: number): void {
    written.set(session.sid, at);
    const ua = request.headers['user-agent'];
    store
      .recordSession({
        sid: session.sid,
        realm: session.realm,
        userId: session.uid,
        createdAt: session.iat,
        lastSeen: at,
        expiresAt: session.iat + opts.lifetimeMs,
        userAgent: typeof ua === 'string' && ua.length > 0 ? ua.slice(0, MAX_USER_AGENT) : null,
        ip: request.ip ?? null,
      })
      .catch((err: unknown) => opts.log.warn({ err }, 'session registry: the store did not record the session (the session itself is unaffected)'));
  }

  return {
    started(session, request) {
      write(session, request, session.iat);
    },
    seen(session, request, now) {
      const last = written.get(session.sid) ?? Number.NEGATIVE_INFINITY; // first request on this replica: written once
      if (now - last >= TOUCH_MS) write(session, request, now);
    },
    ended(sid) {
      written.delete(sid);
      store.deleteSession(sid).catch((err: unknown) => opts.log.warn({ err }, 'session registry: the store did not forget the session'));
    },
  };
}
