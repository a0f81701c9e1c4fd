// `regentra-gateway entra generate-certificate --out DIR`: a key pair the config accepts
// as sites.portal.entra.certificate, the key file private, nothing overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { runEntraCommand } from '../../src/cli/entra.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import { portalCredentials } from '../../src/auth/entra/portal-credentials.ts';
import { baseRawConfig, type RawConfig } from '../support/gateway.ts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } } as never };
}

test('generate-certificate writes a pair the config takes, prints both thumbprints, never overwrites', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'regentra-cli-')), 'certs');
  const a = io();
  assert.equal(runEntraCommand(['generate-certificate', '--out', dir, '--days', '90'], a.io), 0, a.err.join(''));
  const x = new X509Certificate(readFileSync(join(dir, 'entra-app.cer')));
  const thumbprint = x.fingerprint.replace(/:/g, '');
  assert.match(a.out.join(''), new RegExp(`thumbprint \\(SHA-1, as Azure shows it\\): ${thumbprint}`));
  assert.equal(statSync(join(dir, 'entra-app.key')).mode & 0o077, 0, 'the key is readable by its owner only');
  const raw = baseRawConfig('http://127.0.0.1:3001', 'http://127.0.0.1:3002') as RawConfig;
  raw.sites.portal.entra = {
    clientId: 'x',
    certificate: { certificate: `file:${join(dir, 'entra-app.crt')}`, privateKey: `file:${join(dir, 'entra-app.key')}` },
  };
  const { config } = loadConfigObject(raw);
  assert.equal(portalCredentials(config)[0]?.id, thumbprint);

  const again = io();
  assert.equal(runEntraCommand(['generate-certificate', '--out', dir], again.io), 1);
  assert.match(again.err.join(''), /a certificate is already there/);
  const bad = io();
  assert.equal(runEntraCommand(['generate-certificate'], bad.io), 2);
  assert.match(bad.err.join(''), /--out DIR is required/);
  assert.equal(runEntraCommand(['generate-certificate', '--out', dir, '--days', '5000'], bad.io), 2);
  assert.match(bad.err.join(''), /validity must be a whole number of days from 1 to 1095/);
});
