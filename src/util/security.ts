/**
 * The small security primitives every part of the gateway uses, in one place so that each
 * has one implementation (and one review): constant-time comparison, the GUID pattern of
 * tenant, object and application ids, HKDF-derived keys, and deep freezing.
 */
import { hkdfSync, timingSafeEqual } from 'node:crypto';

/** A GUID as Entra writes tenant, object and application ids (any case). */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/**
 * Constant-time equality of two secrets (tokens, MACs, states). Their length is not
 * secret (every value compared here has a fixed length); a different length is unequal.
 */
export function sameSecret(a: string | Buffer, b: string | Buffer | null | undefined): boolean {
  if (b === null || b === undefined) return false;
  const x = typeof a === 'string' ? Buffer.from(a) : a;
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A 32-byte key for one purpose (`info`), derived from a configured key with HKDF-SHA256. */
export function derivedKey(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
}

/** Freeze an object and everything it holds (validated once, then read-only). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
