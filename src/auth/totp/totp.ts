/**
 * TOTP (RFC 6238) with otplib 13: SHA-1, 6 digits, 30-second steps, accepted one
 * step either side of now. Verification returns the matched time step, which the
 * caller must then claim with `store.acceptTotpStep` (a code is accepted once, on
 * any replica, and never a step at or before the last accepted one).
 *
 * Provisioning: an otpauth:// URI, rendered server-side as an SVG QR code and
 * inlined as a data: URI (the pages' CSP allows `img-src data:`).
 */
import { generate, generateSecret, generateURI, verify } from 'otplib';

export const TOTP = Object.freeze({ algorithm: 'sha1', digits: 6, period: 30, window: 1 } as const);

const CODE = /^\d{6}$/;

/** A new random secret (20 bytes, base32), as authenticator apps expect. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The code as typed ("123 456", "123-456") reduced to its digits, or null when it cannot be a code. */
export function normalizeTotpCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 16) return null;
  const code = input.replace(/[\s-]/g, '');
  return CODE.test(code) ? code : null;
}

/** The RFC 6238 time step of `nowMs`. */
export function timeStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP.period);
}

/**
 * The time step `code` is valid for (now, or one step either side), or null.
 * Steps at or before `afterStep` (the last accepted one) never match.
 */
export async function matchTotpStep(secret: string, input: unknown, nowMs: number, afterStep: number | null): Promise<number | null> {
  const token = normalizeTotpCode(input);
  // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
  if (token === null) return null;
  const current = timeStep(nowMs);
  // a last step beyond the window (clock moved back): nothing in the window is newer
  if (afterStep !== null && afterStep >= current + TOTP.window) return null;
  const result = await verify({
    secret,
    token,
    algorithm: TOTP.algorithm,
    digits: TOTP.digits,
    period: TOTP.period,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: TOTP.period * TOTP.window,
    ...(afterStep !== null && afterStep >= 0 ? { afterTimeStep: afterStep } : {}),
  });
  // (the result type also covers HOTP; a TOTP match carries its time step)
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** The code an authenticator app shows at `nowMs` (demo tooling and tests). */
export function currentTotpCode(secret: string, nowMs: number): Promise<string> {
  return generate({ secret, algorithm: TOTP.algorithm, digits: TOTP.digits, period: TOTP.period, epoch: Math.floor(nowMs / 1000) });
}

/** otpauth://totp/… for authenticator apps. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({ issuer, label: account, secret, algorithm: TOTP.algorithm, digits: TOTP.digits, period: TOTP.period });
}

/** The URI as an SVG QR code in a data: URI, for an <img src>. */
export async function qrDataUri(uri: string): Promise<string> {
  // loaded on first use: only enrolment pages draw QR codes
  const { default: QRCode } = await import('qrcode');
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}
