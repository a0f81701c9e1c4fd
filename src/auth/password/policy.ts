/**
 * The password policy for new and reset passwords: a minimum length
 * (`config.auth.password.minLength`), a maximum length, not one of the common
 * passwords in common-passwords.txt (also with trailing digits and punctuation
 * removed: "Password2024!" is "password"), not one character repeated, and not
 * the account's own email.
 */
import { readFileSync } from 'node:fs';
import { MAX_PASSWORD_LENGTH } from './hash.ts';

let common: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  if (common === undefined) {
    const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8');
    common = new Set(
      text
        .split('\n')
        .map((line) => line.trim().toLowerCase())
        .filter((line) => line.length > 0 && !line.startsWith('#')),
    );
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
