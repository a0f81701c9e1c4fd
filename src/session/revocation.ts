/**
 * Server-side revocation of cookie sessions. A session ends on its next request when
 * - its user was disabled, deleted, or signed out everywhere (the session was created
 *   before the user's sessionsValidAfter), or
 * - that one session was signed out (a revocation record for its sid, kept until the
 *   session's absolute lifetime is over), so a copied cookie dies with the sign-out.
 *
 * Both checks are cached for `revocationCheckSeconds` (≤ 10 s), the documented bound for
 * a revocation to reach every replica, so they cost nothing per request; a sign-out on
 * this replica takes effect here at once. When the store is unreachable the last known
 * answer is used; a session this replica has never checked keeps working while its
 * sealed cookie is valid (documented: "signed-in users keep working while the database
 * is down").
 */
import { boundedCache } from '../util/bounded-cache.ts';
import type { Store } from '../store/types.ts';
import type { SessionData } from './types.ts';

export interface RevocationCheck {
  isRevoked(session: SessionData, now: number): Promise<boolean>;
  /** record that this one session is over (sign-out); effective on every replica within the bound */
  revokeSession(session: SessionData, now: number): Promise<void>;
  /** forget cached state for a user (after a local change) */
  forget(realm: string, uid: string): void;
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
  return { isRevoked: async () => false, revokeSession: async () => {}, forget: () => {} };
}

const sessionKey = (sid: string) => `session-revoked:${sid}`;

export function storeRevocation(store: Store, opts: { ttlMs: number; sessionLifetimeMs: number; onError?: (err: unknown) => void }): RevocationCheck {
  const users = boundedCache<string, UserState>(100_000);
  const sessions = boundedCache<string, SessionState>(200_000);
  const inflight = new Map<string, Promise<unknown>>();

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

  return {
    async isRevoked(session, now) {
      const [u, s] = await Promise.all([userState(session, now), sessionState(session, now)]);
      if (s?.revoked) return true;
      if (!u) return false; // store down and user unknown here: the sealed session stands (documented)
      if (!u.active) return true;
      return session.iat < u.validAfter;
    },
    async revokeSession(session, now) {
      sessions.set(session.sid, { revoked: true, fetchedAt: now });
      await store.consumeOnce(sessionKey(session.sid), session.iat + opts.sessionLifetimeMs + 60_000);
    },
    forget(realm, uid) {
      users.delete(`${realm}\u0000${uid}`);
    },
  };
}
