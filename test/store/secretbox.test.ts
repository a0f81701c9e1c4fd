import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBoxError, createSecretBox, parseKey } from '../../src/store/secretbox.ts';
import type { SecretBoxErrorCode } from '../../src/store/secretbox.ts';

function throwsWith(work: () => unknown, code: SecretBoxErrorCode): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof SecretBoxError, `expected a SecretBoxError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

function key(id: string) {
  return { id, key: randomBytes(32) };
}

const AAD = 'totp:staff:8d0f5e4e-4c4f-4a57-9a63-0d3f4f6f5a11';

describe('secretbox', () => {
  test('round trip, with a fresh IV every time', () => {
    const box = createSecretBox([key('k1')]);
    const a = box.seal('JBSWY3DPEHPK3PXP', AAD);
    const b = box.seal('JBSWY3DPEHPK3PXP', AAD);
    assert.match(a, /^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    assert.notEqual(a, b);
    assert.equal(box.open(a, AAD), 'JBSWY3DPEHPK3PXP');
    assert.equal(box.open(b, AAD), 'JBSWY3DPEHPK3PXP');
    assert.equal(box.open(box.seal('', AAD), AAD), '');
    assert.equal(box.open(box.seal('ünïcødé ✓', AAD), AAD), 'ünïcødé ✓');
    assert.ok(Object.isFrozen(box));
  });

  test('rotation: the first key seals, every listed key opens', () => {
    const oldKey = key('old');
    const newKey = key('new');
    const sealedOld = createSecretBox([oldKey]).seal('secret', AAD);
    const rotated = createSecretBox([newKey, oldKey]);
    assert.equal(rotated.open(sealedOld, AAD), 'secret');
    const sealedNew = rotated.seal('secret', AAD);
    assert.ok(sealedNew.startsWith('v1.new.'));
    throwsWith(() => createSecretBox([oldKey]).open(sealedNew, AAD), 'UNKNOWN_KEY');
  });

  test('a different aad (another owner) does not open', () => {
    const box = createSecretBox([key('k1')]);
    const sealed = box.seal('secret', 'totp:staff:user-a');
    throwsWith(() => box.open(sealed, 'totp:staff:user-b'), 'DECRYPT_FAILED');
    throwsWith(() => box.open(sealed, ''), 'DECRYPT_FAILED');
  });

  test('tampering is detected', () => {
    const box = createSecretBox([key('k1')]);
    const sealed = box.seal('secret', AAD);
    const [version, keyId, iv, body] = sealed.split('.') as [string, string, string, string];
    const flip = (text: string, index: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[index] = bytes[index]! ^ 1;
      return bytes.toString('base64url');
    };
    throwsWith(() => box.open([version, keyId, iv, flip(body, 0)].join('.'), AAD), 'DECRYPT_FAILED');
    throwsWith(() => box.open([version, keyId, iv, flip(body, Buffer.from(body, 'base64url').length - 1)].join('.'), AAD), 'DECRYPT_FAILED');
    throwsWith(() => box.open([version, keyId, flip(iv, 3), body].join('.'), AAD), 'DECRYPT_FAILED');
    // the same key under another id: the header is authenticated too
    const raw = randomBytes(32);
    const twin = createSecretBox([
      { id: 'a', key: raw },
      { id: 'b', key: raw },
    ]);
    const sealedA = twin.seal('secret', AAD);
    throwsWith(() => twin.open(sealedA.replace('v1.a.', 'v1.b.'), AAD), 'DECRYPT_FAILED');
  });

  test('an unknown key id fails with UNKNOWN_KEY', () => {
    const sealed = createSecretBox([key('gone')]).seal('secret', AAD);
    throwsWith(() => createSecretBox([key('k1'), key('k2')]).open(sealed, AAD), 'UNKNOWN_KEY');
  });

  test('malformed values fail with BAD_FORMAT', () => {
    const box = createSecretBox([key('k1')]);
    const sealed = box.seal('secret', AAD);
    for (const bad of [
      '',
      'secret',
      sealed.replace('v1.', 'v2.'),
      `${sealed}.x`,
      sealed.split('.').slice(0, 3).join('.'),
      sealed.replace(/\.[^.]+$/, '.AAAA'),
      sealed.replace(/^(v1\.k1\.)[^.]+/, '$1AAAA'),
      sealed.replace(/\.([^.]+)$/, '.$1+/'),
    ]) {
      throwsWith(() => box.open(bad, AAD), 'BAD_FORMAT');
    }
    throwsWith(() => box.open(undefined as unknown as string, AAD), 'BAD_FORMAT');
  });

  test('keys are checked when the box is created', () => {
    throwsWith(() => createSecretBox([]), 'INVALID_KEY');
    throwsWith(() => createSecretBox([{ id: 'k', key: randomBytes(16) }]), 'INVALID_KEY');
    throwsWith(() => createSecretBox([{ id: 'bad.id', key: randomBytes(32) }]), 'INVALID_KEY');
    throwsWith(() => createSecretBox([key('same'), key('same')]), 'INVALID_KEY');
  });

  test('parseKey accepts base64 and base64url of exactly 32 bytes', () => {
    const raw = randomBytes(32);
    assert.deepEqual(parseKey(raw.toString('base64')), raw);
    assert.deepEqual(parseKey(raw.toString('base64url')), raw);
    assert.deepEqual(parseKey(` ${raw.toString('base64').replace(/=+$/, '')}\n`), raw);
    throwsWith(() => parseKey(randomBytes(31).toString('base64')), 'INVALID_KEY');
    throwsWith(() => parseKey(randomBytes(33).toString('base64url')), 'INVALID_KEY');
    throwsWith(() => parseKey(''), 'INVALID_KEY');
    throwsWith(() => parseKey('not base64 at all!'), 'INVALID_KEY');
    throwsWith(() => parseKey(raw.toString('hex')), 'INVALID_KEY');
    assert.throws(() => parseKey(randomBytes(31).toString('base64')), /exactly 32 bytes, got 31/);
  });
});
