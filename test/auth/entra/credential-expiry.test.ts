// Credentials expire: the portal app signs in with a certificate from the config (and
// falls back to its secret while the certificate is not uploaded), the expiry warnings
// go out once per threshold across replicas (audit event + log warning), and the gauge
// regentra_entra_credential_expiry_timestamp_seconds{app} says when sign-in would stop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { last, PORTAL_APP, startEnv, USERS, HOSTS, type Env } from './support.ts';
import { generateCertificate } from '../../../src/util/certificate.ts';
import { checkCredentialExpiry } from '../../../src/auth/entra/expiry.ts';
import { startGateway } from '../../support/gateway.ts';

const DAY = 86_400_000;

describe('portal app certificate from the config', () => {
  const cert = generateCertificate({ commonName: 'regentra portal', days: 20 });
  let env: Env;
  const lines: Array<{ level: string; obj: unknown; msg: string }> = [];
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regentra-cert-'));
    writeFileSync(join(dir, 'portal.crt'), cert.pem);
    writeFileSync(join(dir, 'portal.key'), cert.privateKeyPem, { mode: 0o600 });
    const capture = (level: string) => (obj: unknown, msg?: string) => {
      lines.push({ level, obj, msg: msg ?? '' });
    };
    const logger = {
      level: 'info',
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
      debug() {},
      trace() {},
      fatal: capture('fatal'),
      silent() {},
      child() {
        return logger;
      },
    };
    env = await startEnv({
      staff: null,
      logger: logger,
      portalEntra: {
        clientId: PORTAL_APP.clientId,
        clientSecret: PORTAL_APP.clientSecret,
        clientSecretExpires: new Date(Date.now() + 300 * DAY).toISOString().slice(0, 10),
        certificate: { certificate: `file:${join(dir, 'portal.crt')}`, privateKey: `file:${join(dir, 'portal.key')}` },
      },
    });
  });
  after(() => env.close());

  test('not uploaded in Azure yet: the certificate is refused (AADSTS700027) and the secret signs the person in', async () => {
    const before = env.fe.tokenRequests.length;
    const pages = await env.browser().signIn(HOSTS.acme, USERS.alice.oid, '/');
    assert.equal(last(pages).status, 200);
    assert.deepEqual(
      env.fe.tokenRequests
        .slice(before)
        .filter((r) => r.params.grant_type === 'authorization_code')
        .map((r) => r.clientAuth),
      ['private_key_jwt', 'client_secret_post'],
    );
    const fallbacks = await env.core.metrics.registry.getSingleMetricAsString('regentra_entra_credential_fallbacks_total');
    assert.match(fallbacks, /regentra_entra_credential_fallbacks_total\{refused="certificate",code="AADSTS700027"\} 1/);
  });

  test('uploaded: the certificate alone redeems the code (private_key_jwt)', async () => {
    env.fe.uploadCertificate(PORTAL_APP.clientId, cert.pem);
    const before = env.fe.tokenRequests.length;
    const pages = await env.browser().signIn(HOSTS.acme, USERS.alice.oid, '/');
    assert.equal(last(pages).status, 200);
    assert.deepEqual(
      env.fe.tokenRequests
        .slice(before)
        .filter((r) => r.params.grant_type === 'authorization_code')
        .map((r) => r.clientAuth),
      ['private_key_jwt'],
    );
  });

  test('20 days left: one warning (threshold 30), however often the check runs (a store consumeOnce key, as every replica shares); the gauge holds the last expiry', async () => {
    {
      await checkCredentialExpiry(env.core);
      await checkCredentialExpiry(env.core);
      const events = await env.gw.store.listAudit({ type: 'sso.credential.expiry', limit: 10 });
      assert.equal(events.length, 1, 'once, however often and wherever it runs');
      const details = events[0]?.details as { app: string; credential: string; id: string; threshold: number; daysLeft: number };
      assert.deepEqual([details.app, details.credential, details.id, details.threshold], ['portal', 'certificate', cert.thumbprint, 30]);
      assert.ok(details.daysLeft === 20 || details.daysLeft === 19);
      assert.ok(lines.some((l) => l.level === 'warn' && /The certificate [0-9A-F]{40} of Regentra's portal app expires in (19|20) days/.test(l.msg)));
      const gauge = await env.core.metrics.registry.getSingleMetricAsString('regentra_entra_credential_expiry_timestamp_seconds');
      // the secret outlives the certificate: sign-in stops when the secret expires
      const secretExpiry = Date.parse(`${new Date(Date.now() + 300 * DAY).toISOString().slice(0, 10)}T23:59:59Z`) / 1000;
      assert.match(gauge, new RegExp(`regentra_entra_credential_expiry_timestamp_seconds\\{app="portal"\\} ${secretExpiry}`));
    }
  });
});

describe('the expiry thresholds over time', () => {
  test('30, 14, 7, 1 days and expired: each once, the tightest reached only', async () => {
    let clock = Date.now();
    const cert = generateCertificate({ commonName: 'clock', days: 40, now: clock });
    const dir = mkdtempSync(join(tmpdir(), 'regentra-cert-'));
    writeFileSync(join(dir, 'c.crt'), cert.pem);
    writeFileSync(join(dir, 'c.key'), cert.privateKeyPem);
    const gw = await startGateway({
      now: () => clock,
      configure(raw) {
        (raw.sites as { portal: Record<string, unknown> }).portal.entra = {
          clientId: PORTAL_APP.clientId,
          certificate: { certificate: `file:${join(dir, 'c.crt')}`, privateKey: `file:${join(dir, 'c.key')}` },
        };
        return raw;
      },
    });
    try {
      const seen: number[] = [];
      for (const daysLater of [0, 12, 13, 28, 33, 36, 38, 39, 39.5, 41, 45]) {
        clock = cert.notBefore + daysLater * DAY;
        await checkCredentialExpiry(gw.core);
      }
      for (const e of await gw.store.listAudit({ type: 'sso.credential.expiry', limit: 20 })) seen.push((e.details as { threshold: number }).threshold);
      assert.deepEqual(
        seen.sort((a, b) => b - a),
        [30, 14, 7, 1, 0],
      );
    } finally {
      await gw.close();
    }
  });
});
