/**
 * In-memory failure counters (lru-cache), with the same rule as the store's
 * per-account lockout: failures are counted in a window that starts at the first
 * one; reaching `maxFailures` blocks the key until `now + blockMs`.
 *
 * Used for the per-client-IP throttle (`config.auth.ipThrottle`) and, with the
 * account lockout policy, for emails that have no account, so that an unknown
 * email locks exactly like a real one and lockout does not reveal which accounts exist.
 * Bounded memory: the least recently used keys are dropped first.
 */
import { boundedCache } from '../util/bounded-cache.ts';

export interface ThrottlePolicy {
  readonly maxFailures: number;
  readonly windowMs: number;
  /** how long a key stays blocked once it reached maxFailures */
  readonly blockMs: number;
}

export interface Throttle {
  /** epoch ms until which `key` is blocked, or null */
  blockedUntil(key: string, now: number): number | null;
  /** count a failure for `key`; returns the block's end when the key is (now) blocked */
  fail(key: string, now: number): number | null;
  clear(key: string): void;
}

interface Counter {
  count: number;
  windowStart: number;
  blockedUntil: number | null;
}

export function createThrottle(policy: ThrottlePolicy, maxKeys = 100_000): Throttle {
  const counters = boundedCache<string, Counter>(maxKeys);
  const blockedUntil = (key: string, now: number): number | null => {
    const until = counters.get(key)?.blockedUntil ?? null;
    return until !== null && until > now ? until : null;
  };
  return Object.freeze({
    blockedUntil,
    fail(key: string, now: number): number | null {
      const c = counters.get(key);
      if (c === undefined || now - c.windowStart >= policy.windowMs) {
        const blocked = blockedUntil(key, now);
        counters.set(key, { count: 1, windowStart: now, blockedUntil: policy.maxFailures <= 1 ? now + policy.blockMs : blocked });
      } else {
        c.count++;
        if (c.count >= policy.maxFailures) c.blockedUntil = now + policy.blockMs;
      }
      return blockedUntil(key, now);
    },
    clear(key: string): void {
      counters.delete(key);
    },
  });
}
