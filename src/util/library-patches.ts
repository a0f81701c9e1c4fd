/**
 * Every place where the gateway replaces a function of a library's object (or adds to one
 * of its tables), in one file.
 *
 * Each patch names the library version it was written against and why it exists. A patch
 * checks, when it is applied, that the function it wraps is still there with the shape it
 * assumes, and throws a LibraryPatchError (code LIBRARY_CHANGED) otherwise: a dependency
 * update that moves one of these fails the gateway's start (and the pinning test,
 * test/util/library-patches.test.ts) instead of silently skipping a cache or a clean-up.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Session } from '@fastify/secure-session';
import type { Histogram } from 'prom-client';
import { CodedError } from '../errors.ts';

/** The versions these patches were written against (package.json pins them exactly). */
export const PATCHED_VERSIONS = Object.freeze({
  fastify: '5.12.8',
  '@fastify/secure-session': '8.4.0',
  '@fastify/cookie': '11.1.5',
  'prom-client': '15.1.3',
  undici: '7.30.2',
});

export class LibraryPatchError extends CodedError<'LIBRARY_CHANGED'> {
  constructor(message: string) {
    super('LibraryPatchError', 'LIBRARY_CHANGED', message);
  }
}

function mustBeFunction(owner: object, name: string, arity: number, library: string): void {
  const fn = (owner as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new LibraryPatchError(`${library} no longer provides ${name}() (patch in src/util/library-patches.ts)`);
  if (fn.length > arity)
    throw new LibraryPatchError(`${library}'s ${name}() now takes ${fn.length} arguments, the patch passes ${arity} (src/util/library-patches.ts)`);
}

export type DecodeSecureSession = (cookie: string, log?: FastifyBaseLogger, sessionName?: string) => Session | null;

/**
 * @fastify/secure-session 8.4: its onRequest hook opens each session cookie through
 * `fastify.decodeSecureSession(cookie, log, sessionName)`, a decorator, so wrapping it is
 * how an opened-session cache (src/session/open-cache.ts) sits in front of the decryption.
 * `wrap` receives the original, bound.
 */
export function patchDecodeSecureSession(app: FastifyInstance, wrap: (original: DecodeSecureSession) => DecodeSecureSession): void {
  mustBeFunction(app, 'decodeSecureSession', 3, '@fastify/secure-session');
  app.decodeSecureSession = wrap(app.decodeSecureSession.bind(app));
}

export type ParseCookie = (header: string) => Record<string, string>;

/**
 * @fastify/cookie 11.1: every request's Cookie header is parsed through the decorator
 * `fastify.parseCookie(header)` (a new object per request), so wrapping it lets the parsed
 * header be remembered by value. Absent when the cookie plugin is not registered: then
 * nothing is patched and false is returned.
 */
export function patchParseCookie(app: FastifyInstance, wrap: (original: ParseCookie) => ParseCookie): boolean {
  if (!('parseCookie' in app)) return false;
  mustBeFunction(app, 'parseCookie', 2, '@fastify/cookie');
  const original: ParseCookie = app.parseCookie.bind(app);
  app.parseCookie = wrap(original);
  return true;
}

/**
 * node:http (Node 24) and Fastify 5: `server.close(callback)` stops accepting and ends idle
 * connections, but knows nothing of connections the gateway took over (WebSocket tunnels
 * after a 101). Closing the server (a reload retiring an app, a shutdown) must end those too,
 * and callers of close() (Fastify's own onClose, serve()) are not ours to change, so
 * `beforeClose` runs first, then the original close.
 */
export function patchServerClose(server: Server, beforeClose: () => void): void {
  mustBeFunction(server, 'close', 1, 'node:http Server');
  const close = server.close.bind(server);
  server.close = function (callback?: (err?: Error) => void): Server {
    beforeClose();
    return close(callback);
  };
}

interface HistogramSeries {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/**
 * prom-client 15.1 has no bulk observe, and its observe() validates and hashes the labels
 * and looks the bucket up by a number-keyed property on every call (with two counters, 8 %
 * of a proxied request's instructions: issue #17). The hot path tallies in plain arrays
 * (src/ops/metrics.ts) and folds them in here when metrics are read, into the histogram's
 * series for `labels` exactly as that many observe() calls would: `counts[i]` observations
 * at or under the i-th bucket bound and above the one before (observations above the last
 * bound only in `count`), `sum` and `count` in total. The series is made with the public
 * zero() when missing; prom-client keeps the series in `hashMap`, by label values.
 */
export function addHistogramObservations<L extends string>(
  histogram: Histogram<L>,
  labels: Readonly<Record<L, string>>,
  counts: ArrayLike<number>,
  sum: number,
  count: number,
): void {
  const h = histogram as unknown as { hashMap?: Record<string, HistogramSeries>; upperBounds?: readonly number[] };
  if (typeof h.hashMap !== 'object' || h.hashMap === null || !Array.isArray(h.upperBounds)) {
    throw new LibraryPatchError(
      "prom-client no longer keeps a histogram's series in hashMap/upperBounds (addHistogramObservations in src/util/library-patches.ts)",
    );
  }
  const same = (series: HistogramSeries) => Object.keys(labels).every((k) => series.labels[k] === labels[k as L]);
  let series = Object.values(h.hashMap).find(same);
  if (series === undefined) {
    histogram.zero(labels);
    series = Object.values(h.hashMap).find(same);
  }
  if (series === undefined || typeof series.bucketValues !== 'object') {
    throw new LibraryPatchError("prom-client's histogram series changed shape (addHistogramObservations in src/util/library-patches.ts)");
  }
  const bounds = h.upperBounds;
  for (let i = 0; i < bounds.length; i++) {
    const n = counts[i] ?? 0;
    if (n !== 0) series.bucketValues[String(bounds[i])] = (series.bucketValues[String(bounds[i])] ?? 0) + n;
  }
  series.sum += sum;
  series.count += count;
}

/** a header name as undici's table holds it: a lower-case HTTP token (RFC 9110 §5.1) */
const LOWER_CASE_TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * undici 7.30: its Request checks the name of every request header that is not in its
 * table of well-known names (lib/core/constants.js `headerNameLowerCasedRecord`, lower-case
 * and canonical spellings → lower case): it lower-cases the name and matches it against
 * the token syntax, on every request. The gateway's own names (the identity and forwarding
 * headers it adds to every proxied request: three forwarding and up to nine identity
 * headers) are constant, lower-case tokens, checked once here, so entering them in that
 * table (each as itself) leaves undici with nothing to learn from checking them again
 * (about 1 µs of a proxied request: docs/performance.md, round eleven). Names from clients are still checked as before. The
 * table is the one undici's Request reads: the same module instance as `import 'undici'`.
 */
export function addUndiciHeaderNames(names: readonly string[]): void {
  for (const name of names) {
    if (!LOWER_CASE_TOKEN.test(name)) throw new TypeError(`not a lower-case header name: ${JSON.stringify(name)}`);
  }
  let table: unknown;
  try {
    table = (createRequire(import.meta.url)('undici/lib/core/constants.js') as { headerNameLowerCasedRecord?: unknown }).headerNameLowerCasedRecord;
  } catch {
    table = undefined;
  }
  if (
    typeof table !== 'object' ||
    table === null ||
    Object.getPrototypeOf(table) !== null ||
    (table as Record<string, unknown>)['Content-Type'] !== 'content-type'
  ) {
    throw new LibraryPatchError('undici no longer keeps its header-name table in lib/core/constants.js (addUndiciHeaderNames in src/util/library-patches.ts)');
  }
  for (const name of names) (table as Record<string, string>)[name] = name;
}
