/**
 * Opened session cookies, remembered by cookie value (and the Cookie header, parsed,
 * remembered by header value: see cacheParsedCookies).
 *
 * @fastify/secure-session opens both cookies on every request (base64, secretbox,
 * JSON): after the proxy itself, the largest cost of a signed-in request. A browser
 * sends the same cookie value for a minute at least (a session is re-sealed at most
 * once a minute), so the opened content is kept in a small LRU keyed by the exact
 * cookie value — a value that decrypts under our keys to exactly that content, so a
 * hit answers what decrypting would. Everything else is still checked per request:
 * secure-session's own expiry here, and the session's realm/host binding, idle and
 * absolute lifetime and revocation in validate().
 *
 * Each request gets its own Session object (they are mutable); the cached content
 * is frozen, so no request can change what another one reads. Cookies that do not
 * open are not remembered. Each app (configuration generation, key set) has its
 * own cache.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Session } from '@fastify/secure-session';
import { patchDecodeSecureSession, patchParseCookie } from '../util/library-patches.ts';
import { LRUCache } from 'lru-cache';
import { boundedCache } from '../util/bounded-cache.ts';
import { deepFreeze } from '../util/security.ts';

interface Opened {
  /** the session's content, __ts included, frozen */
  readonly data: Readonly<Record<string, unknown>>;
  /** opened with an older key: re-sealed with the current one on the response */
  readonly rotated: boolean;
  /** secure-session's expiry (epoch ms) */
  readonly expiresAt: number;
}

/**
 * Wrap `app.decodeSecureSession` (which secure-session's onRequest hook calls) with
 * the cache. `expirySeconds`: secure-session's `expiry` per session name.
 */
export function cacheOpenedSessions(app: FastifyInstance, expirySeconds: Readonly<Record<string, number>>, max = 10_000): void {
  cacheParsedCookies(app, max);
  const caches = new Map<string, LRUCache<string, Opened>>();
  for (const name of Object.keys(expirySeconds)) caches.set(name, boundedCache<string, Opened>(max));

  patchDecodeSecureSession(app, (open) => (cookie: string, log?: FastifyBaseLogger, sessionName?: string): Session | null => {
    const cache = sessionName === undefined ? undefined : caches.get(sessionName);
    if (cookie === undefined || cache === undefined) return open(cookie, log, sessionName);
    const hit = cache.get(cookie);
    if (hit !== undefined) {
      if (Date.now() >= hit.expiresAt) {
        cache.delete(cookie);
        return null;
      }
      const session = app.createSecureSession({ ...hit.data });
      if (hit.rotated) session.changed = true;
      return session;
    }
    const session = open(cookie, log, sessionName);
    if (session !== null) {
      const ts = session.get('__ts') as unknown;
      if (typeof ts === 'number') {
        const data = deepFreeze({ ...session.data(), __ts: ts });
        cache.set(cookie, { data, rotated: session.changed, expiresAt: (ts + (expirySeconds[sessionName as string] as number)) * 1000 });
      }
    }
    return session;
  });
}

/**
 * The Cookie header, parsed, remembered by header value (@fastify/cookie parses and
 * %-decodes every cookie on every request, for secure-session to read two of them).
 * Each request still gets its own object, with no prototype, as cookie.parse makes.
 */
function cacheParsedCookies(app: FastifyInstance, max: number): void {
  const parsed = boundedCache<string, Readonly<Record<string, string>>>(max);
  patchParseCookie(app, (parse) => (header: string): Record<string, string> => {
    let hit = parsed.get(header);
    if (hit === undefined) {
      hit = Object.freeze(parse(header));
      parsed.set(header, hit);
    }
    return Object.assign(Object.create(null) as Record<string, string>, hit);
  });
}
