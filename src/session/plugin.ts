/**
 * Cookie sessions on @fastify/secure-session (libsodium secretbox, key rotation:
 * the first key seals, every key opens, and a cookie opened with an older key is
 * re-sealed with the first one on the response).
 *
 * Two cookies:
 * - the session cookie: a signed-in user's SessionData, bound to its realm and host;
 * - the flow cookie: short-lived state of a sign-in in progress (CSRF token, `rd`,
 *   OIDC state/nonce/PKCE verifier, the pending password step). Deleted on success.
 *
 * Idle timeout and absolute lifetime are enforced here with an injectable clock;
 * revocation (account changes, realm sign-in settings, sign-outs) and a changed role
 * through a RevocationCheck (./revocation.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';
import secureSession from '@fastify/secure-session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.ts';
import { mustDecodeKey32 } from '../config/keys.ts';
import type { Site } from '../routing/sites.ts';
import type { SessionData } from './types.ts';
import type { RevocationCheck } from './revocation.ts';
import type { SessionRegistry } from './registry.ts';
import { cacheOpenedSessions } from './open-cache.ts';
import { refreshCache } from './refresh-cache.ts';
import { boundedCache } from '../util/bounded-cache.ts';
import { CACHED_COOKIE_HEADER_MAX, strippedCookie, type StrippedCookie } from '../util/cookies.ts';

export interface FlowState {
  /** CSRF token for the gateway's forms (bound to this pre-session) */
  readonly csrf: string;
  /** realm + host the flow was started on */
  readonly realm: string;
  readonly host: string;
  /** the validated post-sign-in target (a path on this host) */
  readonly rd: string;
  /** when the flow started (epoch ms) */
  readonly started: number;
  /** anything the sign-in strategies keep between steps (namespaced by strategy) */
  readonly [key: string]: unknown;
}

export interface SessionManager {
  /** cookie names as sent to browsers */
  readonly cookieNames: readonly string[];
  /** the valid session for this request's site, or null (memoised per request) */
  current(request: FastifyRequest): Promise<SessionData | null>;
  /** replace any session with a fresh one (new sid: no fixation) */
  start(request: FastifyRequest, data: NewSession): SessionData;
  /** end the session (clears the cookie) */
  end(request: FastifyRequest): void;
  /** the flow state bound to this site, or null */
  flow(request: FastifyRequest): FlowState | null;
  /** start a new flow (new CSRF token) and return it */
  startFlow(request: FastifyRequest, rd: string, extra?: Record<string, unknown>): FlowState;
  /** update the current flow (keeps its csrf/realm/host/started) */
  updateFlow(request: FastifyRequest, patch: Record<string, unknown>): FlowState | null;
  endFlow(request: FastifyRequest): void;
  /**
   * Who to suggest to Microsoft when this browser signs in again (`login_hint`): the
   * `login_hint` claim (else the email) of this site's SSO session — current, or one that
   * just timed out (kept, sealed, in the session cookie until a sign-in or sign-out).
   * Null for password sessions, after sign-out or revocation, and on another realm or host.
   */
  signInHint(request: FastifyRequest): Promise<string | null>;
  /**
   * The Set-Cookie header this request's response must carry for a refreshed session
   * (see ./refresh-cache.ts), or undefined. Responses sent through Fastify get it from
   * this plugin's onSend hook; the proxy's direct responses add it themselves.
   */
  refreshCookie(request: FastifyRequest): string | undefined;
  /**
   * For the fast lane (src/proxy/lane.ts): the valid session of a raw request when nothing
   * about its cookies has to change but a refresh, else null (Fastify's path decides).
   * Synchronous when the revocation state is cached (the usual case), else a promise.
   */
  laneSession(req: IncomingMessage, ip: string | undefined, site: Site, host: string): LaneSession | null | Promise<LaneSession | null>;
}

/** a session the fast lane may proxy: its content, and the refreshed cookie to set (if due) */
export interface LaneSession {
  readonly data: SessionData;
  readonly setCookie: string | undefined;
  /** the request's Cookie header without the gateway's cookies (proxy/headers.ts StrippedCookie) */
  readonly cookie: StrippedCookie;
}

/** a Cookie header as the fast lane reads it (laneCookie) */
interface LaneCookie {
  /** the session cookie's value, when the header carries it once and no flow cookie */
  readonly session: string | undefined;
  readonly stripped: StrippedCookie;
}

export type NewSession = Omit<SessionData, 'v' | 'sid' | 'iat' | 'seen' | 'realm' | 'host'>;

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionManager;
  }
  interface FastifyRequest {
    site: Site;
    /** canonical host of this request */
    siteHost: string;
    flowSession: import('@fastify/secure-session').Session;
  }
}

declare module '@fastify/secure-session' {
  interface SessionData {
    s: import('./types.ts').SessionData;
    f: FlowState;
    /** what is left of a timed-out SSO session: the sign-in hint, bound to realm + host */
    h: { readonly realm: string; readonly host: string; readonly hint: string };
  }
}

const TOUCH_INTERVAL_MS = 60_000;
const FLOW_LIFETIME_S = 15 * 60;
const kCurrent = Symbol('regentra.session.current');
const kRefresh = Symbol('regentra.session.refresh');
type WithRefresh = FastifyRequest & { [kRefresh]?: string };

export interface SessionPluginOptions {
  readonly config: Config;
  readonly now: () => number;
  readonly revocation: RevocationCheck;
  /** the record of sessions for the account page (best effort) */
  readonly registry?: SessionRegistry;
}

export function cookieNamesFor(config: Config): { session: string; flow: string } {
  const base = config.session.cookieName;
  return config.session.secure ? { session: `__Host-${base}`, flow: `__Host-${base}_flow` } : { session: base, flow: `${base}_flow` };
}

async function sessionPlugin(app: FastifyInstance, opts: SessionPluginOptions): Promise<void> {
  const { config, now, revocation, registry } = opts;
  const keys = config.keys.session.map(mustDecodeKey32);
  const names = cookieNamesFor(config);
  const cookie = { path: '/', httpOnly: true, secure: config.session.secure, sameSite: 'lax' as const };
  const idleMs = config.session.idleTimeoutSeconds * 1000;
  const absoluteMs = config.session.absoluteLifetimeSeconds * 1000;

  await app.register(secureSession, [
    // secure-session's own expiry is a backstop; ours (idle/absolute, injectable clock) decides
    { sessionName: 'session', cookieName: names.session, key: keys, cookie, expiry: config.session.absoluteLifetimeSeconds + 86_400 },
    { sessionName: 'flowSession', cookieName: names.flow, key: keys, cookie, expiry: FLOW_LIFETIME_S },
  ]);
  // opened cookies are remembered by value (./open-cache.ts): every check below still runs per request
  const openedCookies = cacheOpenedSessions(app, { session: config.session.absoluteLifetimeSeconds + 86_400, flowSession: FLOW_LIFETIME_S });
  // a refresh is sealed once per session and touch interval, then handed to that session's requests
  const refreshed = refreshCache(TOUCH_INTERVAL_MS);

  /** the refresh of `raw` at `t` for this request (its Set-Cookie goes on the response) */
  function refresh(request: FastifyRequest, raw: SessionData, t: number): SessionData {
    // a cookie re-sealed anyway (opened with an older key): secure-session writes it, with the new time
    if (request.session.changed) {
      const touched: SessionData = { ...raw, seen: t };
      request.session.set('s', touched);
      return touched;
    }
    const hit = cachedRefresh(raw, t);
    (request as WithRefresh)[kRefresh] = hit.setCookie;
    return hit.data;
  }

  // responses made by Fastify (pages, redirects, error pages, a proxied response sent through
  // Fastify) carry the refreshed cookie, unless the session was ended or replaced meanwhile
  app.addHook('onSend', (request, reply, _payload, done) => {
    const setCookie = (request as WithRefresh)[kRefresh];
    if (setCookie !== undefined && !request.session.changed) reply.header('set-cookie', setCookie);
    done();
  });

  /**
   * The checks every request's session cookie passes, on its opened content: version, the
   * realm and host it is bound to, idle and absolute lifetime. 'expired' is a session that
   * was valid (its sign-in hint is kept); 'invalid' is no session at all.
   */
  function checkOpened(raw: SessionData | undefined, site: Site, host: string, t: number): 'ok' | 'expired' | 'invalid' {
    if (!raw || raw.v !== 1) return 'invalid';
    // bound to its realm and host: a cookie from another client, realm or host is no session
    if (raw.realm !== site.realm || raw.host !== host) return 'invalid';
    if (t - raw.iat >= absoluteMs || t - raw.seen >= idleMs || raw.iat > t + 60_000) return 'expired';
    return 'ok';
  }

  /** the session cookie's refresh is due: the review changed it (a new role), or a touch interval of activity passed */
  const refreshDue = (raw: SessionData, reviewed: SessionData, t: number) => reviewed !== raw || t - raw.seen >= TOUCH_INTERVAL_MS;

  /** the refresh of `raw` at `t` for a request whose cookie is not re-sealed anyway: the one already sealed in this interval, or a new one */
  function cachedRefresh(raw: SessionData, t: number): { data: SessionData; setCookie: string } {
    let hit = refreshed.get(raw, t);
    if (hit === undefined) {
      const touched: SessionData = { ...raw, seen: t };
      const value = app.encodeSecureSession(app.createSecureSession({ s: touched }), 'session');
      hit = { data: touched, setCookie: app.serializeCookie(names.session, value, cookie) };
      refreshed.set(hit);
    }
    return hit;
  }

  async function validate(request: FastifyRequest): Promise<SessionData | null> {
    // the gateway sets one cookie per name (host-only, Path=/): a second one was planted by someone else
    if (sentTwice(request.headers.cookie, names.session)) return null;
    const raw = request.session.get('s');
    const t = now();
    const state = checkOpened(raw, request.site, request.siteHost, t);
    if (state === 'invalid' || raw === undefined) return null;
    if (state === 'expired') {
      const hint = hintOf(raw);
      if (hint === null) {
        request.session.delete();
        return null;
      }
      // the session is gone; who it was stays as a hint for signing in again (signInHint)
      request.session.regenerate();
      request.session.set('h', { realm: raw.realm, host: raw.host, hint });
      return null;
    }
    // the account and the realm's settings decide too (cached per revocationCheckSeconds)
    const reviewed = await revocation.review(raw, t);
    if (reviewed === null) {
      request.session.delete();
      return null;
    }
    registry?.seen(reviewed, request, t);
    // re-sealed when the review changed it (a new role), or once per touch interval of activity;
    // an old cookie replayed gets the refresh computed once per session and interval (refresh-cache.ts)
    if (refreshDue(raw, reviewed, t)) return refresh(request, reviewed, t);
    return raw;
  }

  /**
   * The fast lane's session (src/proxy/lane.ts): the same checks as validate() on a raw
   * request, answering only when the outcome needs no change to the request's cookies —
   * exactly one session cookie, no flow cookie, opened with the current key, valid and not
   * revoked. Anything else (no cookie, expired, revoked, a rotated key, a flow in progress)
   * is null: the request goes through Fastify, where validate() decides and answers.
   */
  function laneSession(req: IncomingMessage, ip: string | undefined, site: Site, host: string): LaneSession | null | Promise<LaneSession | null> {
    const header = req.headers.cookie;
    if (header === undefined) return null;
    // a connection's requests mostly repeat its last Cookie header: compared, not hashed for the cache
    const socket = req.socket as typeof req.socket & { [kLaneCookie]?: LaneCookie };
    const last = socket[kLaneCookie];
    const view = last !== undefined && last.stripped.from === header ? last : (socket[kLaneCookie] = laneCookie(header));
    if (view.session === undefined) return null;
    const opened = openedCookies.opened(view.session, 'session');
    if (opened === null || opened.rotated) return null;
    const raw = opened.data.s as SessionData | undefined;
    const t = now();
    if (raw === undefined || checkOpened(raw, site, host, t) !== 'ok') return null;
    // answered from the revocation caches when they are fresh (the usual case), else after the store
    const known = revocation.reviewNow(raw, t);
    if (known !== undefined) return laneReviewed(req, ip, view, raw, known, t);
    return revocation.review(raw, t).then((reviewed) => laneReviewed(req, ip, view, raw, reviewed, t));
  }

  function laneReviewed(
    req: IncomingMessage,
    ip: string | undefined,
    view: LaneCookie,
    raw: SessionData,
    reviewed: SessionData | null,
    t: number,
  ): LaneSession | null {
    if (reviewed === null) return null;
    registry?.seen(reviewed, { headers: req.headers, ip }, t);
    if (!refreshDue(raw, reviewed, t)) return { data: raw, setCookie: undefined, cookie: view.stripped };
    const refresh = cachedRefresh(reviewed, t);
    return { data: refresh.data, setCookie: refresh.setCookie, cookie: view.stripped };
  }

  /**
   * What the lane reads of a Cookie header, worked out once per header value (a browser
   * sends the same one for a minute at least): the session cookie's value when the header
   * is plain — the session cookie once, no flow cookie — and the header as the upstream
   * receives it. One cache lookup instead of a search, a parse lookup and a strip per request.
   */
  const laneCookies = boundedCache<string, LaneCookie>(10_000);
  /** the last Cookie header read on a connection, and what it said (one symbol per app: a reload starts afresh) */
  const kLaneCookie = Symbol('regentra.session.laneCookie');
  const flowNeedle = `${names.flow}=`;
  function laneCookie(header: string): LaneCookie {
    let view = laneCookies.get(header);
    if (view === undefined) {
      const plain = !header.includes(flowNeedle) && !sentTwice(header, names.session);
      view = Object.freeze({
        session: plain ? openedCookies.parsed(header)[names.session] : undefined,
        stripped: strippedCookie(header, manager.cookieNames),
      });
      if (header.length <= CACHED_COOKIE_HEADER_MAX) laneCookies.set(header, view);
    }
    return view;
  }

  const manager: SessionManager = {
    cookieNames: Object.freeze([names.session, names.flow]),
    current(request) {
      const r = request as FastifyRequest & { [kCurrent]?: Promise<SessionData | null> };
      return (r[kCurrent] ??= validate(request));
    },
    start(request, data) {
      const t = now();
      const s: SessionData = { ...data, v: 1, sid: randomBytes(18).toString('base64url'), realm: request.site.realm, host: request.siteHost, iat: t, seen: t };
      (request as WithRefresh)[kRefresh] = undefined;
      request.session.regenerate();
      request.session.set('s', s);
      (request as FastifyRequest & { [kCurrent]?: Promise<SessionData | null> })[kCurrent] = Promise.resolve(s);
      registry?.started(s, request);
      return s;
    },
    end(request) {
      (request as WithRefresh)[kRefresh] = undefined;
      request.session.delete();
      (request as FastifyRequest & { [kCurrent]?: Promise<SessionData | null> })[kCurrent] = Promise.resolve(null);
    },
    flow(request) {
      if (sentTwice(request.headers.cookie, names.flow)) return null;
      const f = request.flowSession.get('f');
      if (!f || f.realm !== request.site.realm || f.host !== request.siteHost) return null;
      if (now() - f.started > FLOW_LIFETIME_S * 1000) return null;
      return f;
    },
    startFlow(request, rd, extra = {}) {
      const f: FlowState = { ...extra, csrf: randomBytes(24).toString('base64url'), realm: request.site.realm, host: request.siteHost, rd, started: now() };
      request.flowSession.regenerate();
      request.flowSession.set('f', f);
      return f;
    },
    updateFlow(request, patch) {
      const f = manager.flow(request);
      if (!f) return null;
      const next: FlowState = {
        ...f,
        ...patch,
        csrf: f.csrf,
        realm: f.realm,
        host: f.host,
        started: f.started,
        rd: typeof patch.rd === 'string' ? patch.rd : f.rd,
      };
      request.flowSession.set('f', next);
      return next;
    },
    endFlow(request) {
      request.flowSession.delete();
    },
    async signInHint(request) {
      const s = await manager.current(request);
      if (s) return hintOf(s);
      if (sentTwice(request.headers.cookie, names.session)) return null;
      const h = request.session.get('h');
      return h && h.realm === request.site.realm && h.host === request.siteHost && typeof h.hint === 'string' ? h.hint : null;
    },
    refreshCookie(request) {
      return (request as WithRefresh)[kRefresh];
    },
    laneSession,
  };
  app.decorate('sessions', manager);
}

/** The login hint of an SSO session: its `login_hint` claim, else its email. */
function hintOf(s: SessionData): string | null {
  if (!s.idp) return null;
  return s.idp.loginHint ?? s.email;
}

/**
 * Does the Cookie header carry a cookie named `name` more than once? A browser sends
 * several only when someone else set one too (another path, or a parent domain:
 * cookie tossing); which one is the gateway's cannot be told, so neither is used.
 */
export function sentTwice(header: string | undefined, name: string): boolean {
  if (header === undefined) return false;
  const needle = `${name}=`;
  let first = header.indexOf(needle);
  if (first === -1 || header.indexOf(needle, first + 1) === -1) return false; // the usual case: two searches
  let seen = 0;
  for (; first !== -1; first = header.indexOf(needle, first + needle.length)) {
    let j = first - 1;
    while (j >= 0 && (header[j] === ' ' || header[j] === '\t')) j--;
    if ((j < 0 || header[j] === ';') && ++seen > 1) return true;
  }
  return false;
}

export const sessionsPlugin = fp(sessionPlugin, { name: 'regentra-sessions', fastify: '5.x' });

/** Reply helper used by sign-in strategies: never cache pages that carry or set session state. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}
