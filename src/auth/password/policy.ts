/**
 * The password policy for new and reset passwords: a minimum length
 * (`config.auth.password.minLength`), a maximum length, not a common password
 * (also with trailing digits and punctuation removed: "Password2024!" is
 * "password"), not one character repeated, and not the account's own email.
 *
 * The common passwords: zxcvbn-ts's list (49,000 passwords seen most in breaches,
 * @zxcvbn-ts/language-common) and common-passwords.txt (a hand-picked list, with
 * this product's name, which such lists miss). Loaded on first use
 * (about 70 ms, once): only setting or resetting a password needs them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MAX_PASSWORD_LENGTH } from './hash.ts';

let common: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  if (common === undefined) {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a file shipped next to this module (import.meta.url), no input
    const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8');
    const ours = text
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line.length > 0 && !line.startsWith('#'));
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as { dictionary: Record<string, readonly string[]> };
    const breached: unknown = dictionary['passwords-common'];
    if (!Array.isArray(breached) || breached.length < 10_000) throw new Error('@zxcvbn-ts/language-common: the common-password list is missing');
    const words = breached.filter((p: unknown): p is string => typeof p === 'string');
    common = new Set([...words.map((p) => p.toLowerCase()), ...ours]);
  }
  return common;
}

/** Is this one of the common passwords (ignoring case and trailing digits/punctuation)? */
export function isCommonPassword(password: string): boolean {
  const p = password.normalize('NFKC').toLowerCase();
  const list = commonPasswords();
  return list.has(p) || list.has(p.replace(/[\d\W_]+$/u, ''));
}

export interface PasswordRules {
  readonly minLength: number;
  /** the account's email (refused as its password) */
  readonly email?: string;
}

/** Why `password` is not acceptable, in words for the person choosing it; null when it is. */
export function passwordProblem(password: string, rules: PasswordRules): string | null {
  if (typeof password !== 'string') return 'A password is required.';
  const length = [...password.normalize('NFKC')].length;
  if (length < rules.minLength) return `The password must be at least ${rules.minLength} characters long.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`;
  if (/^(.)\1*$/su.test(password)) return 'The password must not be one character repeated.';
  if (isCommonPassword(password)) return 'This password is too common; choose one that is harder to guess (a few unrelated words work well).';
  if (rules.email !== undefined && password.trim().toLowerCase() === rules.email.trim().toLowerCase()) return 'The password must not be your email address.';
  return null;
}
