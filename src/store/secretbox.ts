/**
 * Encryption at rest for small secrets (TOTP secrets, SSO client secrets):
 * AES-256-GCM with a random 96-bit IV and a 128-bit tag.
 *
 * Sealed format: `v1.<keyId>.<b64url iv>.<b64url ciphertext || tag>`.
 *
 * - The first key seals; every listed key opens, so keys rotate by putting a new
 *   key first and keeping the old ones until everything has been re-sealed.
 * - `aad` binds a ciphertext to its owner (e.g. `totp:<realm>:<userId>`): a value
 *   copied to another row does not open. The `v1.<keyId>.` header is
 *   authenticated too.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CodedError } from '../errors.ts';

export type SecretBoxErrorCode = 'BAD_FORMAT' | 'UNKNOWN_KEY' | 'DECRYPT_FAILED' | 'INVALID_KEY';

export class SecretBoxError extends CodedError<SecretBoxErrorCode> {
  constructor(code: SecretBoxErrorCode, message: string, options?: { cause?: unknown }) {
    super('SecretBoxError', code, message, options);
  }
}

export interface SecretBoxKey {
  /** short identifier written into each sealed value: [A-Za-z0-9_-]{1,64} */
  readonly id: string;
  /** 32 random bytes */
  readonly key: Buffer;
}

export interface SecretBox {
  seal(plaintext: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64_ANY = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Decode a 256-bit key written as base64 or base64url (padding optional).
 * Throws SecretBoxError 'INVALID_KEY' (the message never contains the key).
 */
export function parseKey(text: string): Buffer {
  const trimmed = text.trim();
  if (!BASE64_ANY.test(trimmed)) {
    throw new SecretBoxError('INVALID_KEY', 'the key must be base64 or base64url text (for example: openssl rand -base64 32)');
  }
  const canonical = trimmed.replace(/=+$/, '').replaceAll('-', '+').replaceAll('_', '/');
  const key = Buffer.from(canonical, 'base64');
  if (key.toString('base64').replace(/=+$/, '') !== canonical) {
    throw new SecretBoxError('INVALID_KEY', 'the key is not valid base64/base64url');
  }
  if (key.length !== KEY_BYTES) {
    throw new SecretBoxError('INVALID_KEY', `the key must decode to exactly ${KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

function importKeys(keys: readonly SecretBoxKey[]): Map<string, KeyObject> {
  if (keys.length === 0) throw new SecretBoxError('INVALID_KEY', 'at least one key is required');
  const imported = new Map<string, KeyObject>();
  for (const { id, key } of keys) {
    if (!KEY_ID.test(id)) throw new SecretBoxError('INVALID_KEY', `invalid key id ${JSON.stringify(id)}`);
    if (imported.has(id)) throw new SecretBoxError('INVALID_KEY', `duplicate key id ${JSON.stringify(id)}`);
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
      throw new SecretBoxError('INVALID_KEY', `key ${id} must be ${KEY_BYTES} bytes`);
    }
    imported.set(id, createSecretKey(Buffer.from(key)));
  }
  return imported;
}

function additionalData(keyId: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${aad}`, 'utf8');
}

function sealWith(keyId: string, key: KeyObject, plaintext: string, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(keyId, aad));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${keyId}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

interface Envelope {
  readonly keyId: string;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function parseEnvelope(sealed: string): Envelope {
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  const [version, keyId, iv, body] = parts;
  if (
    parts.length !== 4 ||
    version !== VERSION ||
    keyId === undefined ||
    !KEY_ID.test(keyId) ||
    iv === undefined ||
    !BASE64URL.test(iv) ||
    body === undefined ||
    !BASE64URL.test(body)
  ) {
    throw new SecretBoxError('BAD_FORMAT', `not a ${VERSION} sealed value`);
  }
  const ivBytes = Buffer.from(iv, 'base64url');
  const bodyBytes = Buffer.from(body, 'base64url');
  if (ivBytes.length !== IV_BYTES || bodyBytes.length < TAG_BYTES) {
    throw new SecretBoxError('BAD_FORMAT', `not a ${VERSION} sealed value`);
  }
  return {
    keyId,
    iv: ivBytes,
    ciphertext: bodyBytes.subarray(0, bodyBytes.length - TAG_BYTES),
    tag: bodyBytes.subarray(bodyBytes.length - TAG_BYTES),
  };
}

function openWith(key: KeyObject, envelope: Envelope, aad: string): string {
  try {
    const decipher = createDecipheriv(ALGORITHM, key, envelope.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(envelope.keyId, aad));
    decipher.setAuthTag(envelope.tag);
    const plaintext = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch (error) {
    throw new SecretBoxError('DECRYPT_FAILED', 'the sealed value does not open with this key and aad', { cause: error });
  }
}

export function createSecretBox(keys: readonly SecretBoxKey[]): SecretBox {
  const imported = importKeys(keys);
  const [sealKeyId, sealKey] = [...imported][0]!;

  function seal(plaintext: string, aad: string): string {
    if (typeof plaintext !== 'string' || typeof aad !== 'string') {
      throw new TypeError('seal(plaintext, aad) takes two strings');
    }
    return sealWith(sealKeyId, sealKey, plaintext, aad);
  }

  function open(sealed: string, aad: string): string {
    if (typeof aad !== 'string') throw new TypeError('open(sealed, aad) takes two strings');
    const envelope = parseEnvelope(sealed);
    const key = imported.get(envelope.keyId);
    if (key === undefined) {
      throw new SecretBoxError('UNKNOWN_KEY', `no key with id ${JSON.stringify(envelope.keyId)}`);
    }
    return openWith(key, envelope, aad);
  }

  return Object.freeze({ seal, open });
}
