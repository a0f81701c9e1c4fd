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
import { CACHED_COOKIE_HEADER_MAX } from '../util/cookies.ts';

export interface Opened {
  /** the session's content, __ts included, frozen */
  readonly data: Readonly<Record<string, unknown>>;
  /** opened with an older key: re-sealed with the current one on the response */
  readonly rotated: boolean;
  /** secure-session's expiry (epoch ms) */
  readonly expiresAt: number;
}

/**
 * The caches read without making per-request objects, for the fast lane (src/proxy/lane.ts),
 * which only reads: the parsed Cookie header (frozen) and a cookie's opened content (frozen).
 */
export interface OpenedCookies {
  /** the Cookie header parsed as @fastify/cookie parses it (frozen, shared: never change it) */
  parsed(header: string): Readonly<Record<string, string>>;
  /** the cookie `value` of session `sessionName` opened (through the cache), or null when it does not open or has expired */
  opened(value: string, sessionName: string): Opened | null;
}

/**
 * Wrap `app.decodeSecureSession` (which secure-session's onRequest hook calls) with
 * the cache. `expirySeconds`: secure-session's `expiry` per session name.
 */
export function cacheOpenedSessions(app: FastifyInstance, expirySeconds: Readonly<Record<string, number>>, max = 10_000): OpenedCookies {
  const parsed = cacheParsedCookies(app, max);
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

  return {
    parsed,
    opened(value, sessionName) {
      const cache = caches.get(sessionName);
      if (cache === undefined) return null;
      let hit = cache.get(value);
      if (hit === undefined) {
        // opened (and remembered) the way secure-session's hook opens it
        if (app.decodeSecureSession(value, app.log, sessionName) === null) return null;
        hit = cache.get(value);
        if (hit === undefined) return null;
      }
      if (Date.now() >= hit.expiresAt) {
        cache.delete(value);
        return null;
      }
      return hit;
    },
  };
}

/**
 * The Cookie header, parsed, remembered by header value (@fastify/cookie parses and
 * %-decodes every cookie on every request, for secure-session to read two of them).
 * Each request still gets its own object, with no prototype, as cookie.parse makes.
 */
function cacheParsedCookies(app: FastifyInstance, max: number): (header: string) => Readonly<Record<string, string>> {
  const parsed = boundedCache<string, Readonly<Record<string, string>>>(max);
  let parseOriginal: ((header: string) => Record<string, string>) | null = null;
  const frozen = (header: string): Readonly<Record<string, string>> => {
    let hit = parsed.get(header);
    if (hit === undefined) {
      if (parseOriginal === null) throw new Error('@fastify/cookie is not registered: no Cookie header parser');
      hit = Object.freeze(parseOriginal(header));
      // a long header is parsed for its request, not remembered (util/cookies.ts CACHED_COOKIE_HEADER_MAX)
      if (header.length <= CACHED_COOKIE_HEADER_MAX) parsed.set(header, hit);
    }
    return hit;
  };
  patchParseCookie(app, (parse) => {
    parseOriginal = parse;
    return (header: string): Record<string, string> => Object.assign(Object.create(null) as Record<string, string>, frozen(header));
  });
  return frozen;
}
