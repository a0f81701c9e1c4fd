/**
 * Refreshed session cookies, remembered per session id for one touch interval.
 *
 * A session's last-seen time is refreshed at most once per touch interval: a request
 * whose cookie is older than that gets a re-sealed cookie. A client that keeps sending
 * the old cookie (a script, a mobile client, a burst of parallel requests from a page
 * loaded before the refresh) would otherwise be re-sealed on every response — secretbox,
 * JSON and base64 each time, and the response sent through Fastify's onSend hooks —
 * which halved the throughput (issue #17). Here the refresh is computed once per session
 * per interval on each replica and the same Set-Cookie is handed to every request of that
 * session within the interval, so it still reaches the browser.
 *
 * What this does not change: every check (binding to realm and host, idle and absolute
 * lifetime, revocation) still runs per request on the cookie the request presented, before
 * this cache is looked at. An entry is only handed to a request whose own valid cookie
 * carries the same session id and the same content (everything but the last-seen time):
 * the cached cookie says nothing the presented one did not. Bounded by entries (LRU);
 * an evicted session simply computes its refresh again.
 */
import { boundedCache } from '../util/bounded-cache.ts';
import type { SessionData } from './types.ts';

export interface Refreshed {
  /** the session as re-sealed (frozen), its `seen` the time of the refresh */
  readonly data: SessionData;
  /** the whole Set-Cookie header value of the re-sealed cookie */
  readonly setCookie: string;
}

/** same session, same content, apart from the last-seen time (every field of SessionData: keep in step with types.ts) */
function sameSession(a: SessionData, b: SessionData): boolean {
  if (a.sid !== b.sid || a.realm !== b.realm || a.host !== b.host || a.uid !== b.uid || a.email !== b.email || a.name !== b.name) return false;
  if (a.role !== b.role || a.client !== b.client || a.authTime !== b.authTime || a.iat !== b.iat || a.v !== b.v) return false;
  if (!sameList(a.amr, b.amr) || !sameList(a.idpAmr, b.idpAmr)) return false;
  return a.idp === b.idp || (a.idp !== null && b.idp !== null && a.idp.tid === b.idp.tid && a.idp.oid === b.idp.oid && a.idp.loginHint === b.idp.loginHint);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return a.every((m, i) => m === b[i]);
}

export interface RefreshCache {
  /**
   * The refresh already computed for `raw`'s session within the interval before `now`,
   * or undefined. `raw` must be a session that passed every check for this request.
   */
  get(raw: SessionData, now: number): Refreshed | undefined;
  /** remember a refresh just computed (its data's `seen` is the time of the refresh) */
  set(refreshed: Refreshed): void;
  readonly size: number;
}

export function refreshCache(intervalMs: number, max = 10_000): RefreshCache {
  const bySid = boundedCache<string, Refreshed>(max);
  return {
    get(raw, now) {
      const hit = bySid.get(raw.sid);
      if (hit === undefined) return undefined;
      const seen = hit.data.seen;
      // within the window, newer than the presented cookie, and the same content
      if (now - seen >= intervalMs || seen <= raw.seen || seen > now + 60_000 || !sameSession(hit.data, raw)) return undefined;
      return hit;
    },
    set(refreshed) {
      bySid.set(refreshed.data.sid, Object.freeze({ data: Object.freeze({ ...refreshed.data }), setCookie: refreshed.setCookie }));
    },
    get size() {
      return bySid.size;
    },
  };
}
