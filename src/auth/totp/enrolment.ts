/**
 * TOTP enrolment and recovery codes, on the store. One implementation for the
 * sign-in pages, the CLI and demo seeding.
 *
 * - The secret is sealed at rest with the secret box, bound to its owner with the
 *   aad `totp:<realm>:<userId>`. A pending enrolment is a sealed secret with no
 *   `totpEnrolledAt`; it becomes active once a first code has been accepted.
 * - Recovery codes: 10 single-use codes of 16 Crockford base32 characters (80 bits),
 *   shown once, stored as SHA-256 of `<userId>:<code>` (deterministic, so the store
 *   can consume one atomically; 80 bits make guessing from the hash hopeless).
 */
import { createHash, randomInt } from 'node:crypto';
import type { SecretBox } from '../../store/secretbox.ts';
import type { Store, User } from '../../store/types.ts';
import { newTotpSecret } from './totp.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32: no i, l, o, u
const CODE_CHARS = 16;

export function totpAad(realm: string, userId: string): string {
  return `totp:${realm}:${userId}`;
}

/** Is TOTP active for this user (enrolment completed)? */
export function hasTotp(user: User): boolean {
  return user.totpSecretEnc !== null && user.totpEnrolledAt !== null;
}

/** The user's TOTP secret (active or pending), opened; null when there is none. */
export function openTotpSecret(box: SecretBox, user: User): string | null {
  return user.totpSecretEnc === null ? null : box.open(user.totpSecretEnc, totpAad(user.realm, user.id));
}

/**
 * The secret of a pending enrolment: the one already pending (so a reload shows the
 * same QR code), else a new one, sealed and stored. Never replaces an active secret.
 */
export async function pendingTotpSecret(store: Store, box: SecretBox, user: User): Promise<string> {
  if (hasTotp(user)) throw new Error('TOTP is already enrolled for this user');
  const pending = openTotpSecret(box, user);
  if (pending !== null) return pending;
  const secret = newTotpSecret();
  await store.updateUser(user.realm, user.id, { totpSecretEnc: box.seal(secret, totpAad(user.realm, user.id)), totpEnrolledAt: null, totpLastStep: null });
  return secret;
}

/** Mark the pending secret active and issue fresh recovery codes (returned once, in clear). */
export async function completeTotpEnrolment(store: Store, user: User, now: number): Promise<string[]> {
  await store.updateUser(user.realm, user.id, { totpEnrolledAt: now });
  return issueRecoveryCodes(store, user.id);
}

/** Store `secret` as the user's active TOTP secret at once (operators' seeding and tests). */
export async function setActiveTotpSecret(store: Store, box: SecretBox, user: User, secret: string, now: number): Promise<string[]> {
  await store.updateUser(user.realm, user.id, { totpSecretEnc: box.seal(secret, totpAad(user.realm, user.id)), totpEnrolledAt: now, totpLastStep: null });
  return issueRecoveryCodes(store, user.id);
}

/** Forget TOTP and recovery codes: the next password sign-in enrols again. */
export async function clearTotp(store: Store, user: User): Promise<void> {
  await store.updateUser(user.realm, user.id, { totpSecretEnc: null, totpEnrolledAt: null, totpLastStep: null });
  await store.setRecoveryCodes(user.id, []);
}

function newRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < CODE_CHARS; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code.replace(/(.{4})(?!$)/g, '$1-');
}

/** The code as typed, canonical (lower case, no separators, Crockford look-alikes mapped), or null. */
export function normalizeRecoveryCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 40) return null;
  const code = input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
  return code.length === CODE_CHARS && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

export function hashRecoveryCode(userId: string, code: string): string {
  return createHash('sha256').update(`${userId}:${code}`).digest('hex');
}

/** Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones; returns them for showing once. */
export async function issueRecoveryCodes(store: Store, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await store.setRecoveryCodes(
    userId,
    codes.map((c) => hashRecoveryCode(userId, normalizeRecoveryCode(c) as string)),
  );
  return codes;
}

/** Use one recovery code: true exactly once per code. */
export async function consumeRecoveryCode(store: Store, userId: string, input: unknown): Promise<boolean> {
  const code = normalizeRecoveryCode(input);
  return code !== null && store.consumeRecoveryCode(userId, hashRecoveryCode(userId, code));
}
