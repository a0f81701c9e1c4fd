/**
 * The TOTP parameters are the authenticator-app ones (RFC 6238 SHA-1, 6 digits,
 * 30 s): checked against the RFC's own test vectors (Appendix B, the last 6 of the
 * 8 digits), independently of otplib; and the provisioning URI says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentTotpCode, matchTotpStep, normalizeTotpCode, totpUri } from '../../../src/auth/totp/totp.ts';

// base32 of the ASCII seed "12345678901234567890"
const SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
];

test('codes match the RFC 6238 SHA-1 test vectors', async () => {
  for (const [seconds, eight] of VECTORS) {
    const code = eight.slice(-6);
    assert.equal(await currentTotpCode(SEED, seconds * 1000), code, `T=${seconds}`);
    assert.equal(await matchTotpStep(SEED, code, seconds * 1000, null), Math.floor(seconds / 30), `T=${seconds}`);
    assert.equal(await matchTotpStep(SEED, code, seconds * 1000, Math.floor(seconds / 30)), null, `T=${seconds}: not again`);
  }
});

test('codes are typed leniently but must be six digits', () => {
  assert.equal(normalizeTotpCode(' 287 082 '), '287082');
  assert.equal(normalizeTotpCode('287-082'), '287082');
  for (const bad of ['28708', '2870822', '28708a', '', null, 287082, '２８７０８２']) assert.equal(normalizeTotpCode(bad), null, String(bad));
});

test('the otpauth URI carries issuer, account and the standard parameters', () => {
  const uri = new URL(totpUri(SEED, 'Regentra Staff', 'ada@example.com'));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.host, 'totp');
  assert.equal(decodeURIComponent(uri.pathname), '/Regentra Staff:ada@example.com');
  assert.equal(uri.searchParams.get('secret'), SEED);
  assert.equal(uri.searchParams.get('issuer'), 'Regentra Staff');
  assert.equal(uri.searchParams.get('algorithm') ?? 'SHA1', 'SHA1');
  assert.equal(uri.searchParams.get('digits') ?? '6', '6');
  assert.equal(uri.searchParams.get('period') ?? '30', '30');
});
