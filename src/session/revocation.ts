/**
 * Server-side revocation of cookie sessions: a session ends on its next request when
 * its user was disabled or signed out everywhere (a session created before the user's sessionsValidAfter).
 *
 * The per-user check is cached for `revocationCheckSeconds` (≤ 10 s), the documented
 * bound for a revocation to reach every replica, so it costs nothing per request.
 * When the store is unreachable the last known answer is used; a user never seen by
 * this replica keeps a cryptographically valid session (documented: "signed-in users
 * keep working while the database is down").
 */
import { LRUCache } from 'lru-cache';
import type { Store } from '../store/types.ts';
import type { SessionData } from './types.ts';

export interface RevocationCheck {
  isRevoked(session: SessionData, now: number): Promise<boolean>;
  /** forget cached state for a user (after a local change) */
  forget(realm: string, uid: string): void;
}

interface UserState {
  readonly active: boolean;
  readonly validAfter: number;
  readonly fetchedAt: number;
}

export function noRevocation(): RevocationCheck {
  return { isRevoked: async () => false, forget: () => {} };
}

export function storeRevocation(store: Store, opts: { ttlMs: number; onError?: (err: unknown) => void }): RevocationCheck {
  const cache = new LRUCache<string, UserState>({ max: 100_000 });
  const inflight = new Map<string, Promise<UserState | null>>();

  async function fetchState(key: string, realm: string, uid: string, now: number): Promise<UserState | null> {
    let p = inflight.get(key);
    if (!p) {
      p = store
        .getUser(realm, uid)
        .then((u) => {
          const st: UserState = u ? { active: u.status === 'active', validAfter: u.sessionsValidAfter, fetchedAt: now } : { active: false, validAfter: 0, fetchedAt: now };
          cache.set(key, st);
          return st;
        })
        .catch((err: unknown) => {
          opts.onError?.(err);
          return null;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  }

  return {
    async isRevoked(session, now) {
      const key = `${session.realm}\u0000${session.uid}`;
      let st = cache.get(key);
      if (!st || now - st.fetchedAt >= opts.ttlMs) {
        st = (await fetchState(key, session.realm, session.uid, now)) ?? st;
      }
      if (!st) return false; // store down and user unknown here: the sealed session stands (documented)
      if (!st.active) return true;
      return session.iat < st.validAfter;
    },
    forget(realm, uid) {
      cache.delete(`${realm}\u0000${uid}`);
    },
  };
}
