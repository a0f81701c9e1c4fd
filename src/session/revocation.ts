/**
 * Server-side revocation of cookie sessions: every session follows its account and its
 * realm's sign-in settings. A session ends on its next request when
 * - its user was disabled, deleted, or had a change to how they sign in (password, MFA,
 *   linked Microsoft identity, status: src/auth/password/users.ts) or was signed out
 *   everywhere — the session was created before the user's sessionsValidAfter (so a
 *   disabled-then-enabled account's old cookies stay dead);
 * - its way of signing in is no longer allowed in its realm (password sign-in off, SSO
 *   off, another tenant), or was taken away after the session started (the realm's
 *   `passwordSessionsValidAfter` / `ssoSessionsValidAfter`: src/auth/policy.ts);
 * - that one session was signed out (a revocation record for its sid, kept until the
 *   session's absolute lifetime is over), so a copied cookie dies with the sign-out, or
 * - the Entra session it was started from was signed out at Microsoft (front-channel
 *   sign-out: a record keyed by tenant + Entra `sid`, see src/auth/entra/frontchannel.ts).
 * A staff session whose user's role changed is re-issued with the new role (review()
 * returns the changed session; the plugin re-seals the cookie).
 *
 * Every check is cached for `revocationCheckSeconds` (≤ 10 s), the documented bound for
 * a change to reach every replica, so they cost no store round trip per request; a
 * sign-out on this replica takes effect here at once. When the store is unreachable the last known
 * answer is used; a session this replica has never checked keeps working while its
 * sealed cookie is valid (documented: "signed-in users keep working while the database
 * is down"). A sign-out the store could not record is kept and retried every
 * `retryMs` until the store takes it (or the session would have expired anyway), so a
 * copied cookie dies on every replica once the database is back.
 */
import { createHash } from 'node:crypto';
import { boundedCache } from '../util/bounded-cache.ts';
import type { Store, UserRole } from '../store/types.ts';
import type { SessionData } from './types.ts';

/** What a realm's sign-in settings allow of its existing sessions (built by src/auth/policy.ts). */
export interface RealmSessionRules {
  /** password sessions may go on */
  readonly password: boolean;
  /** SSO sessions may go on */
  readonly sso: boolean;
  /** SSO sessions must come from this tenant (lower case); null: no SSO */
  readonly ssoTenant: string | null;
  /** password sessions started at or before this (epoch ms) are over */
  readonly passwordValidAfter: number;
  /** SSO sessions started at or before this (epoch ms) are over */
  readonly ssoValidAfter: number;
}

/** Does the realm still allow this session? */
export function allowedByRealm(session: SessionData, rules: RealmSessionRules): boolean {
  // a session must have started after the moment its way of signing in was taken away
  if (session.idp !== null || session.amr.includes('sso')) {
    if (!rules.sso || session.iat <= rules.ssoValidAfter) return false;
    return session.idp === null || session.idp.tid.toLowerCase() === rules.ssoTenant;
  }
  return rules.password && session.iat > rules.passwordValidAfter;
}

export interface RevocationCheck {
  /**
   * The session as it may go on: null when it is over; the same object when nothing
   * changed; a copy with the user's current role when that changed (staff sessions).
   */
  review(session: SessionData, now: number): Promise<SessionData | null>;
  /**
   * review() answered from what is cached, without waiting: the same answer when every
   * state it needs is cached and fresh, else undefined (then call review()). The hot
   * path's way to skip the promises when nothing needs the store.
   */
  reviewNow(session: SessionData, now: number): SessionData | null | undefined;
  /** record that this one session is over (sign-out); effective on every replica within the bound */
  revokeSession(session: SessionData, now: number): Promise<void>;
  /** end every session started from this Entra session (tenant id + Entra `sid`), on every replica within the bound */
  revokeIdpSession(tid: string, sid: string, now: number): Promise<void>;
  /** forget cached state for a user (after a local change) */
  forget(realm: string, uid: string): void;
  /** forget the cached realm rules (after a local settings change) */
  forgetRealms(): void;
  /** sign-outs not yet recorded in the store (retried in the background) */
  pendingRevocations(): number;
  /** one last attempt to record pending sign-outs, then stop retrying */
  close(): Promise<void>;
}

interface UserState {
  readonly active: boolean;
  readonly validAfter: number;
  readonly role: UserRole | null;
  readonly fetchedAt: number;
}

interface RealmState {
  readonly rules: RealmSessionRules;
  readonly fetchedAt: number;
}

/**
 * A session (or an Entra session) as last read from the store: revoked, for good, or not
 * revoked as of that epoch ms. A number rather than an object per session: 56 bytes less for
 * each of 100,000 active sessions (issue #17's memory row).
 */
type SessionState = typeof REVOKED | number;
const REVOKED = Object.freeze({ revoked: true as const });
/** still to be believed at `now`: a revocation always, a "not revoked" for ttlMs */
const current = (s: SessionState, now: number, ttlMs: number): boolean => typeof s !== 'number' || now - s < ttlMs;

export function noRevocation(): RevocationCheck {
  return {
    review: (s) => Promise.resolve(s),
    reviewNow: (s) => s,
    revokeSession: async () => {},
    revokeIdpSession: async () => {},
    forget: () => {},
    forgetRealms: () => {},
    pendingRevocations: () => 0,
    close: async () => {},
  };
}

const sessionKey = (sid: string) => `session-revoked:${sid}`;
/** hashed: an Entra sid is Microsoft's text, of a length the store key should not depend on */
const idpSessionKey = (tid: string, sid: string) =>
  `idp-session-revoked:${createHash('sha256').update(`${tid.toLowerCase()}\u0000${sid}`).digest('base64url')}`;

type IdpLink = NonNullable<SessionData['idp']>;
/**
 * The store key of a session's Entra session (undefined without an Entra session id), worked
 * out once per session object: the review runs on every request of an Entra session, and a
 * SHA-256 per request cost about 0.85 µs of one (issue #17). Session objects are deep-frozen and
 * reused while their cookie is (session/open-cache.ts); the remembered key is still checked
 * against the object's tid and sid, so it is never used for another Entra session.
 */
const idpKeys = new WeakMap<IdpLink, { readonly tid: string; readonly sid: string; readonly key: string }>();
function idpKeyOf(idp: IdpLink | null): string | undefined {
  const sid = idp?.sid;
  if (!idp || !sid) return undefined;
  const known = idpKeys.get(idp);
  if (known !== undefined && known.tid === idp.tid && known.sid === sid) return known.key;
  const key = idpSessionKey(idp.tid, sid);
  idpKeys.set(idp, { tid: idp.tid, sid, key });
  return key;
}

/** sign-outs kept for a retry at most (beyond this, the oldest are dropped: the cookie was cleared anyway) */
const MAX_PENDING = 10_000;

export interface StoreRevocationOptions {
  readonly ttlMs: number;
  readonly sessionLifetimeMs: number;
  readonly now: () => number;
  /** how often unrecorded sign-outs are retried (default 5 s) */
  readonly retryMs?: number;
  readonly onError?: (err: unknown) => void;
  /** the realm's rules from the store (src/auth/policy.ts realmSessionRules); absent: realms end no session */
  readonly realmRules?: (realm: string) => Promise<RealmSessionRules>;
}

export function storeRevocation(store: Store, opts: StoreRevocationOptions): RevocationCheck {
  const users = boundedCache<string, UserState>(100_000);
  const sessions = boundedCache<string, SessionState>(200_000);
  const realms = boundedCache<string, RealmState>(20_000);
  const inflight = new Map<string, Promise<unknown>>();
  /** once-key of a sign-out the store did not take → until when it must be kept */
  const pending = new Map<string, number>();
  let retry: NodeJS.Timeout | null = null;
  let closed = false;

  async function flush(): Promise<void> {
    for (const [key, until] of pending) {
      if (until <= opts.now()) {
        pending.delete(key);
        continue;
      }
      try {
        await store.consumeOnce(key, until);
        pending.delete(key);
      } catch (err) {
        opts.onError?.(err);
        return; // still unavailable: the rest waits for the next attempt
      }
    }
  }

  function scheduleRetry(): void {
    if (retry !== null || closed) return;
    retry = setTimeout(() => {
      retry = null;
      void flush().finally(() => {
        if (pending.size > 0) scheduleRetry();
      });
    }, opts.retryMs ?? 5_000);
    retry.unref();
  }

  /** one store round trip per key at a time; null when the store failed */
  function once<T>(key: string, load: () => Promise<T>): Promise<T | null> {
    let p = inflight.get(key) as Promise<T | null> | undefined;
    if (!p) {
      p = load()
        .catch((err: unknown) => {
          opts.onError?.(err);
          return null;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  }

  async function userState(session: SessionData, now: number): Promise<UserState | undefined> {
    const key = `${session.realm}\u0000${session.uid}`;
    const cached = users.get(key);
    if (cached && now - cached.fetchedAt < opts.ttlMs) return cached;
    const fresh = await once(`u:${key}`, async () => {
      const u = await store.getUser(session.realm, session.uid);
      const st: UserState = u
        ? { active: u.status === 'active', validAfter: u.sessionsValidAfter, role: u.role, fetchedAt: now }
        : { active: false, validAfter: 0, role: null, fetchedAt: now };
      users.set(key, st);
      return st;
    });
    return fresh ?? cached;
  }

  async function sessionState(session: SessionData, now: number): Promise<SessionState | undefined> {
    const cached = sessions.get(session.sid);
    if (cached !== undefined && current(cached, now, opts.ttlMs)) return cached;
    const fresh = await once(`s:${session.sid}`, async () => {
      const st: SessionState = (await store.hasOnceKey(sessionKey(session.sid), now)) ? REVOKED : now;
      sessions.set(session.sid, st);
      return st;
    });
    return fresh ?? cached;
  }

  async function realmState(realm: string, now: number): Promise<RealmState | undefined> {
    const load = opts.realmRules;
    if (load === undefined) return undefined;
    const cached = realms.get(realm);
    if (cached && now - cached.fetchedAt < opts.ttlMs) return cached;
    const fresh = await once(`r:${realm}`, async () => {
      const st: RealmState = { rules: await load(realm), fetchedAt: now };
      realms.set(realm, st);
      return st;
    });
    return fresh ?? cached;
  }

  /** the same caching as sessionState, keyed by the Entra session */
  const idpSessions = boundedCache<string, SessionState>(200_000);
  async function idpSessionRevoked(session: SessionData, now: number): Promise<boolean> {
    const key = idpKeyOf(session.idp);
    if (key === undefined) return false;
    const cached = idpSessions.get(key);
    if (cached !== undefined && current(cached, now, opts.ttlMs)) return cached === REVOKED;
    const fresh = await once(`i:${key}`, async () => {
      const st: SessionState = (await store.hasOnceKey(key, now)) ? REVOKED : now;
      idpSessions.set(key, st);
      return st;
    });
    return (fresh ?? cached) === REVOKED;
  }

  /** record a revocation in the store; kept and retried when the store does not take it */
  async function record(key: string, until: number): Promise<void> {
    try {
      await store.consumeOnce(key, until);
    } catch (err) {
      if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string);
      pending.set(key, until);
      scheduleRetry();
      throw err;
    }
  }

  /** the rule, on the states review() gathered */
  function decide(session: SessionData, u: UserState | undefined, s: SessionState | undefined, r: RealmState | undefined, idp: boolean): SessionData | null {
    if (s === REVOKED || idp) return null;
    if (r && !allowedByRealm(session, r.rules)) return null;
    if (!u) return session; // store down and user unknown here: the sealed session stands (documented)
    if (!u.active || session.iat < u.validAfter) return null;
    // staff sessions carry the role: the account's current one, re-sealed by the caller
    if (session.role !== null && u.role !== null && u.role !== session.role) return { ...session, role: u.role };
    return session;
  }

  return {
    async review(session, now) {
      const [u, s, r, idp] = await Promise.all([
        userState(session, now),
        sessionState(session, now),
        realmState(session.realm, now),
        idpSessionRevoked(session, now),
      ]);
      return decide(session, u, s, r, idp);
    },
    reviewNow(session, now) {
      // the same freshness rules as userState, sessionState, realmState and idpSessionRevoked
      const u = users.get(`${session.realm}\u0000${session.uid}`);
      if (u === undefined || now - u.fetchedAt >= opts.ttlMs) return undefined;
      const s = sessions.get(session.sid);
      if (s === undefined || !current(s, now, opts.ttlMs)) return undefined;
      let r: RealmState | undefined;
      if (opts.realmRules !== undefined) {
        r = realms.get(session.realm);
        if (r === undefined || now - r.fetchedAt >= opts.ttlMs) return undefined;
      }
      let idp = false;
      const idpKey = idpKeyOf(session.idp);
      if (idpKey !== undefined) {
        const c = idpSessions.get(idpKey);
        if (c === undefined || !current(c, now, opts.ttlMs)) return undefined;
        idp = c === REVOKED;
      }
      return decide(session, u, s, r, idp);
    },
    async revokeSession(session) {
      sessions.set(session.sid, REVOKED);
      await record(sessionKey(session.sid), session.iat + opts.sessionLifetimeMs + 60_000);
    },
    async revokeIdpSession(tid, sid, now) {
      const key = idpSessionKey(tid, sid);
      idpSessions.set(key, REVOKED);
      // every session started from it has ended by then (absolute lifetime)
      await record(key, now + opts.sessionLifetimeMs + 60_000);
    },
    forget(realm, uid) {
      users.delete(`${realm}\u0000${uid}`);
    },
    forgetRealms() {
      realms.clear();
    },
    pendingRevocations: () => pending.size,
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      retry = null;
      if (pending.size > 0) await flush();
    },
  };
}
