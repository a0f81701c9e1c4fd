/**
 * A session's sealed content for tests that work below the cookie (revocation, the
 * signer): a staff member's password session started at `at`, with any field overridden.
 */
import { randomUUID } from 'node:crypto';
import type { SessionData } from '../../src/session/types.ts';

export function staffSession(user: { readonly id: string; readonly email: string }, at: number, overrides: Partial<SessionData> = {}): SessionData {
  return {
    v: 1,
    sid: randomUUID(),
    realm: 'staff',
    host: 'staff.example.test',
    uid: user.id,
    email: user.email,
    name: 'Ada',
    role: 'member',
    client: null,
    amr: ['pwd', 'otp'],
    authTime: Math.floor(at / 1000),
    iat: at,
    seen: at,
    idp: null,
    ...overrides,
  };
}
