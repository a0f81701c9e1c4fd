/**
 * Password storage and policy: scrypt PHC strings with the OWASP parameters, unique
 * salts, the dummy hash uses the same parameters (same work for unknown accounts),
 * malformed hashes fail closed; the policy refuses short, common and trivial passwords.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DUMMY_HASH, hashPassword, parseHash, SCRYPT_PARAMS, verifyPassword } from '../../../src/auth/password/hash.ts';
import { isCommonPassword, passwordProblem } from '../../../src/auth/password/policy.ts';

test('hashes are scrypt PHC strings with OWASP parameters and fresh salts', async () => {
  const a = await hashPassword('a long enough passphrase');
  const b = await hashPassword('a long enough passphrase');
  assert.match(a, /^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(a, b);
  assert.deepEqual(SCRYPT_PARAMS, { ln: 14, r: 8, p: 5 });
  assert.deepEqual(parseHash(DUMMY_HASH)?.params, SCRYPT_PARAMS, 'the stand-in hash costs the same work');
  assert.equal(await verifyPassword('a long enough passphrase', a), true);
  assert.equal(await verifyPassword('a long enough passphrasE', a), false);
  assert.equal(await verifyPassword('a long enough passphrase', null), false);
  assert.equal(await verifyPassword('', DUMMY_HASH), false);
});

test('unreadable or out-of-bounds stored hashes never verify', async () => {
  const good = await hashPassword('another long passphrase');
  for (const bad of [
    '',
    'plain text',
    good.replace('ln=14', 'ln=30'),
    good.replace('r=8', 'r=0'),
    good.slice(0, -4),
    `${good}$extra`,
    good.replace('$scrypt$', '$argon2id$'),
  ]) {
    assert.equal(await verifyPassword('another long passphrase', bad), false, bad);
  }
  assert.equal(await verifyPassword('x'.repeat(2000), good), false, 'over-long input');
});

test('policy: minimum length, common passwords (with trailing digits), repeats, own email', () => {
  const rules = { minLength: 12, email: 'ada@example.com' };
  assert.equal(passwordProblem('correct horse battery staple', rules), null);
  assert.match(passwordProblem('short pass', rules) ?? '', /at least 12 characters/);
  assert.match(passwordProblem('password1234', rules) ?? '', /too common/);
  assert.match(passwordProblem('Password2031!', rules) ?? '', /too common/);
  assert.match(passwordProblem('QwertyUIOP123', rules) ?? '', /too common/);
  assert.match(passwordProblem('zzzzzzzzzzzzzzzz', rules) ?? '', /repeated/);
  assert.match(passwordProblem('ADA@example.com', { minLength: 8, email: 'ada@example.com' }) ?? '', /email/);
  assert.match(passwordProblem('x'.repeat(1025) + 'y', rules) ?? '', /at most 1024/);
  assert.equal(isCommonPassword('iloveyou'), true);
  // from the breached-password list (zxcvbn-ts), long enough to pass the length rule
  for (const p of ['1qaz2wsx3edc', 'qazwsxedcrfv', 'leavemealone', '123qweasdzxc']) assert.match(passwordProblem(p, rules) ?? '', /too common/, p);
  // and this product's own name, which such lists miss
  assert.match(passwordProblem('Regentra2026!', rules) ?? '', /too common/);
  assert.equal(isCommonPassword('iloveyou but in a sentence'), false);
  // length counts characters, not UTF-16 units
  assert.match(passwordProblem('🔑🗝🔑🗝🔑🗝🔑🗝🔑🗝🔑', rules) ?? '', /at least 12/);
  assert.equal(passwordProblem('ça va très bien merci', rules), null);
});
