/**
 * The fingerprint of tested SSO settings survives an encryption-key rotation: it names
 * the key it was made with, and matches while that key is still configured (a new first
 * key encrypts, the old one is kept to decrypt). With the old key removed, or for other
 * values, it matches nothing.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigObject } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema.ts';
import { fingerprintMatches, settingsFingerprintFor } from '../../../src/auth/entra/secrets.ts';
import { baseRawConfig } from '../../support/gateway.ts';

const creds = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '1c9e7a5b-3d2f-4e1a-8b6c-0d9e8f7a6b51', clientSecret: 'a~client~secret' };
const k1 = { id: 'k1', key: randomBytes(32).toString('base64') };
const k2 = { id: 'k2', key: randomBytes(32).toString('base64') };

function configWith(encryption: { id: string; key: string }[]): Config {
  const raw = baseRawConfig('http://127.0.0.1:9', 'http://127.0.0.1:9') as { keys: Record<string, unknown> };
  raw.keys.encryption = encryption;
  return loadConfigObject(raw).config;
}

test('a fingerprint names its key and matches exactly its own values', () => {
  const config = configWith([k1]);
  const fp = settingsFingerprintFor(config, creds);
  assert.match(fp, /^v2\.k1\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!fp.includes(creds.clientSecret));
  assert.equal(fingerprintMatches(config, creds, fp), true);
  assert.equal(fingerprintMatches(config, { ...creds, tenantId: creds.tenantId.toUpperCase() }, fp), true, 'the tenant id is not case-sensitive');
  for (const changed of [
    { ...creds, clientSecret: 'another' },
    { ...creds, clientId: 'another' },
    { ...creds, tenantId: 'f8cdef31-a31e-4b4a-93e4-5f571e91255a' },
  ]) {
    assert.equal(fingerprintMatches(config, changed, fp), false);
  }
  for (const bad of ['', 'v1.abc', fp.replace('v2.k1.', 'v2.k9.'), `${fp}x`, fp.slice(0, -1)]) assert.equal(fingerprintMatches(config, creds, bad), false, bad);
});

test('after a rotation (new first key, old key kept) saved settings still count as tested; without the old key they do not', () => {
  const before = settingsFingerprintFor(configWith([k1]), creds);
  const rotated = configWith([k2, k1]);
  assert.equal(fingerprintMatches(rotated, creds, before), true, 'the old key is still configured');
  assert.match(settingsFingerprintFor(rotated, creds), /^v2\.k2\./, 'new fingerprints use the new first key');
  assert.equal(fingerprintMatches(configWith([k2]), creds, before), false, 'the old key is gone');
  // same key id, other key material: no match
  assert.equal(fingerprintMatches(configWith([{ id: 'k1', key: randomBytes(32).toString('base64') }]), creds, before), false);
});
