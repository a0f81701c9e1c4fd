/**
 * Server-side revocation of cookie sessions. A session ends on its next request when
 * - its user was disabled, deleted, or signed out everywhere (the session was created
 *   before the user's sessionsValidAfter), or
 * - that one session was signed out (a revocation record for its sid, kept until the
 *   session's absolute lifetime is over), so a copied cookie dies with the sign-out, or
 * - the Entra session it was started from was signed out at Microsoft (front-channel
 *   sign-out: a record keyed by tenant + Entra `sid`, see src/auth/entra/frontchannel.ts).
 *
 * Both checks are cached for `revocationCheckSeconds` (≤ 10 s), the documented bound for
 * a revocation to reach every replica, so they cost nothing per request; a sign-out on
 * this replica takes effect here at once. When the store is unreachable the last known
 * answer is used; a session this replica has never checked keeps working while its
 * sealed cookie is valid (documented: "signed-in users keep working while the database
 * is down"). A sign-out the store could not record is kept and retried every
 * `retryMs` until the store takes it (or the session would have expired anyway), so a
 * copied cookie dies on every replica once the database is back.
 */
import { createHash } from 'node:crypto';
import { boundedCache } from '../util/bounded-cache.ts';
import type { Store } from '../store/types.ts';
import type { SessionData } from './types.ts';

export interface RevocationCheck {
  isRevoked(session: SessionData, now: number): Promise<boolean>;
  /** record that this one session is over (sign-out); effective on every replica within the bound */
  revokeSession(session: SessionData, now: number): Promise<void>;
  /** end every session started from this Entra session (tenant id + Entra `sid`), on every replica within the bound */
  revokeIdpSession(tid: string, sid: string, now: number): Promise<void>;
  /** forget cached state for a user (after a local change) */
  forget(realm: string, uid: string): void;
  /** sign-outs not yet recorded in the store (retried in the background) */
  pendingRevocations(): number;
  /** one last attempt to record pending sign-outs, then stop retrying */
  close(): Promise<void>;
}

interface UserState {
  readonly active: boolean;
  readonly validAfter: number;
  readonly fetchedAt: number;
}

interface SessionState {
  readonly revoked: boolean;
  readonly fetchedAt: number;
}

export function noRevocation(): RevocationCheck {
  return { isRevoked: async () => false, revokeSession: async () => {}, revokeIdpSession: async () => {}, forget: () => {}, pendingRevocations: () => 0, close: async () => {} };
}

const sessionKey = (sid: string) => `session-revoked:${sid}`;
/** hashed: an Entra sid is Microsoft's text, of a length the store key should not depend on */
const idpSessionKey = (tid: string, sid: string) => `idp-session-revoked:${createHash('sha256').update(`${tid.toLowerCase()}\u0000${sid}`).digest('base64url')}`;

/** sign-outs kept for a retry at most (beyond this, the oldest are dropped: the cookie was cleared anyway) */
const MAX_PENDING = 10_000;

export interface StoreRevocationOptions {
  readonly ttlMs: number;
  readonly sessionLifetimeMs: number;
  readonly now: () => number;
  /** how often unrecorded sign-outs are retried (default 5 s) */
  readonly retryMs?: number;
  readonly onError?: (err: unknown) => void;
}

export function storeRevocation(store: Store, opts: StoreRevocationOptions): RevocationCheck {
  const users = boundedCache<string, UserState>(100_000);
  const sessions = boundedCache<string, SessionState>(200_000);
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
      const st: UserState = u ? { active: u.status === 'active', validAfter: u.sessionsValidAfter, fetchedAt: now } : { active: false, validAfter: 0, fetchedAt: now };
      users.set(key, st);
      return st;
    });
    return fresh ?? cached;
  }

  async function sessionState(session: SessionData, now: number): Promise<SessionState | undefined> {
    const cached = sessions.get(session.sid);
    if (cached && (cached.revoked || now - cached.fetchedAt < opts.ttlMs)) return cached;
    const fresh = await once(`s:${session.sid}`, async () => {
      const st: SessionState = { revoked: await store.hasOnceKey(sessionKey(session.sid), now), fetchedAt: now };
      sessions.set(session.sid, st);
      return st;
    });
    return fresh ?? cached;
  }

  /** the same caching as sessionState, keyed by the Entra session */
  const idpSessions = boundedCache<string, SessionState>(200_000);
  async function idpSessionRevoked(session: SessionData, now: number): Promise<boolean> {
    const sid = session.idp?.sid;
    if (!session.idp || !sid) return false;
    const key = idpSessionKey(session.idp.tid, sid);
    const cached = idpSessions.get(key);
    if (cached && (cached.revoked || now - cached.fetchedAt < opts.ttlMs)) return cached.revoked;
    const fresh = await once(`i:${key}`, async () => {
      const st: SessionState = { revoked: await store.hasOnceKey(key, now), fetchedAt: now };
      idpSessions.set(key, st);
      return st;
    });
    return (fresh ?? cached)?.revoked ?? false;
  }

  return {
    async isRevoked(session, now) {
      const [u, s, idp] = await Promise.all([userState(session, now), sessionState(session, now), idpSessionRevoked(session, now)]);
      if (s?.revoked || idp) return true;
      if (!u) return false; // store down and user unknown here: the sealed session stands (documented)
      if (!u.active) return true;
      return session.iat < u.validAfter;
    },
    async revokeSession(session, now) {
      sessions.set(session.sid, { revoked: true, fetchedAt: now });
      const key = sessionKey(session.sid);
      const until = session.iat + opts.sessionLifetimeMs + 60_000;
      try {
        await store.consumeOnce(key, until);
      } catch (err) {
        if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string);
        pending.set(key, until);
        scheduleRetry();
        throw err;
      }
    },
    async revokeIdpSession(tid, sid, now) {
      const key = idpSessionKey(tid, sid);
      idpSessions.set(key, { revoked: true, fetchedAt: now });
      // every session started from it has ended by then (absolute lifetime)
      const until = now + opts.sessionLifetimeMs + 60_000;
      try {
        await store.consumeOnce(key, until);
      } catch (err) {
        if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string);
        pending.set(key, until);
        scheduleRetry();
        throw err;
      }
    },
    forget(realm, uid) {
      users.delete(`${realm}\u0000${uid}`);
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
