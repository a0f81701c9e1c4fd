// sites.portal.entra credentials in the config: a client secret and/or certificate(s)
// (certificate PEM + private key from file:/env), each refused with a precise message.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigObject } from '../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../src/errors.ts';
import { baseRawConfig, type RawConfig } from '../support/gateway.ts';
import { generateCertificate } from '../../src/util/certificate.ts';
import { portalCredentials } from '../../src/auth/entra/portal-credentials.ts';

type Raw = RawConfig;
const a = generateCertificate({ commonName: 'a' });
const b = generateCertificate({ commonName: 'b', days: 700 });

function withEntra(entra: unknown): Raw {
  const raw = baseRawConfig('http://127.0.0.1:3001', 'http://127.0.0.1:3002') as Raw;
  raw.sites.portal.entra = entra;
  return raw;
}

function issues(raw: Raw, env: Record<string, string> = {}): ConfigIssue[] {
  try {
    loadConfigObject(raw, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.issues];
  }
  return [];
}

describe('portal app credentials in the config', () => {
  test('a certificate instead of the secret; the key from the environment; certificates first, newest first', () => {
    const cfg = loadConfigObject(
      withEntra({
        clientId: 'x',
        clientSecret: 's',
        certificate: [
          { certificate: a.pem, privateKey: '${A_KEY}' },
          { certificate: b.pem, privateKey: '${B_KEY}' },
        ],
      }),
      { env: { A_KEY: a.privateKeyPem, B_KEY: b.privateKeyPem } },
    );
    assert.deepEqual(
      portalCredentials(cfg.config).map((c) => c.id),
      [a.notBefore >= b.notBefore ? a.thumbprint : b.thumbprint, a.notBefore >= b.notBefore ? b.thumbprint : a.thumbprint, 'secret'],
    );
    const only = loadConfigObject(withEntra({ clientId: 'x', certificate: { certificate: a.pem, privateKey: '${A_KEY}' } }), {
      env: { A_KEY: a.privateKeyPem },
    });
    assert.deepEqual(
      portalCredentials(only.config).map((c) => c.kind),
      ['certificate'],
    );
  });

  test('precise errors', () => {
    const at = (list: ConfigIssue[]) => list.map((i) => `${i.path}: ${i.message}`);
    assert.match(
      at(issues(withEntra({ clientId: 'x' }))).join('\n'),
      /^sites\.portal\.entra: needs a credential: clientSecret, or certificate \{ certificate, privateKey \}/,
    );
    assert.match(
      at(issues(withEntra({ clientId: 'x', certificate: { certificate: a.pem, privateKey: b.privateKeyPem } }))).join('\n'),
      /sites\.portal\.entra\.certificate\.privateKey: The private key is not the certificate's.*CERT_KEY_MISMATCH/,
    );
    assert.match(
      at(issues(withEntra({ clientId: 'x', certificate: { certificate: 'not a cert', privateKey: a.privateKeyPem } }))).join('\n'),
      /sites\.portal\.entra\.certificate\.certificate: This is not an X\.509 certificate/,
    );
    assert.match(
      at(issues(withEntra({ clientId: 'x', clientSecret: 's', clientSecretExpires: 'next year' }))).join('\n'),
      /sites\.portal\.entra\.clientSecretExpires: must be a date such as 2027-06-30/,
    );
    assert.match(
      at(issues(withEntra({ clientId: 'x', certificate: { certificate: a.pem, privateKey: a.privateKeyPem }, clientSecretExpires: '2030-01-01' }))).join('\n'),
      /clientSecretExpires: is the expiry of clientSecret, which is not set/,
    );
  });
});
