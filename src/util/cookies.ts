/**
 * The gateway's cookies taken out of a Cookie header before it goes upstream (an app
 * never sees the session or flow cookie). Exact names only; what does not parse as
 * `name=value` is kept as it came.
 */

/**
 * The longest Cookie header a cache keeps an answer for (characters). Browsers send a
 * few hundred; a longer one is worked out for its request and not remembered, so that a
 * cache of 10,000 entries stays within tens of megabytes whatever clients send
 * (server.maxHeaderBytes lets a header reach 16 KB and more).
 */
export const CACHED_COOKIE_HEADER_MAX = 4_096;

/**
 * A Cookie header and what is left of it without the gateway's cookies, worked out once
 * (session/plugin.ts caches it per header value for the fast lane): upstreamHeaders uses
 * `kept` only for the very header it was made from.
 */
export interface StrippedCookie {
  readonly from: string;
  readonly kept: string | undefined;
}

export function strippedCookie(cookieHeader: string, names: readonly string[]): StrippedCookie {
  return Object.freeze({ from: cookieHeader, kept: withoutCookies(cookieHeader, names) });
}

/** Remove the named cookies from a Cookie header value; undefined when nothing is left. */
export function withoutCookies(cookieHeader: string, names: readonly string[]): string | undefined {
  let mentions = false;
  for (const n of names) if (cookieHeader.includes(n)) mentions = true;
  if (!mentions) return cookieHeader;
  const kept = cookieHeader.split(';').filter((part) => {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    return !names.includes(name);
  });
  const out = kept
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .join('; ');
  return out.length > 0 ? out : undefined;
}
