// Certificate credentials (private_key_jwt) against the stand-in, which checks client
// assertions as Entra does: the gateway's generated certificate is valid X.509, Test
// Connection works with it and says so, and every way Microsoft refuses one is explained;
// with two credentials the next is tried when Microsoft refuses the first (rotation).
import { createEntraClient } from '../../../src/auth/entra/client.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { startEnv, STAFF_APP, TENANTS, type Env } from './support.ts';
import { checkConnection } from '../../../src/auth/entra/index.ts';
import { certificateCredential, CertificateError, describeCertificate, generateCertificate } from '../../../src/util/certificate.ts';

const base = { tenantId: TENANTS.staff, clientId: STAFF_APP.clientId };

describe('generated certificates', () => {
  test('a self-signed RSA 2048 X.509 certificate, its thumbprints as Azure and assertions name them', () => {
    const c = generateCertificate({ commonName: 'regentra staff', days: 30 });
    const x = new X509Certificate(c.pem);
    assert.ok(x.verify(x.publicKey), 'self-signed: its signature verifies with its own key');
    assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(x.subject, 'CN=regentra staff');
    assert.equal(c.thumbprint, createHash('sha1').update(x.raw).digest('hex').toUpperCase());
    assert.equal(c.x5tS256, createHash('sha256').update(x.raw).digest('base64url'));
    assert.ok(Math.abs(c.notAfter - c.notBefore - 30 * 86_400_000) < 1000);
    assert.ok(x.checkPrivateKey(createPrivateKey(certificateCredential(c.pem, c.privateKeyPem).privateKeyPem)));
  });

  test('what Entra would not take is refused with a precise error', () => {
    const a = generateCertificate({ commonName: 'a' });
    const b = generateCertificate({ commonName: 'b' });
    assert.throws(
      () => certificateCredential(a.pem, b.privateKeyPem),
      (e: unknown) => e instanceof CertificateError && e.code === 'CERT_KEY_MISMATCH',
    );
    assert.throws(
      () => certificateCredential(a.pem, 'not a key'),
      (e: unknown) => e instanceof CertificateError && e.code === 'CERT_KEY_UNREADABLE',
    );
    assert.throws(
      () => describeCertificate('garbage'),
      (e: unknown) => e instanceof CertificateError && e.code === 'CERT_UNREADABLE',
    );
    assert.throws(
      () => generateCertificate({ commonName: 'x', bits: 1024 }),
      (e: unknown) => e instanceof CertificateError && e.code === 'CERT_KEY_TOO_SMALL',
    );
    assert.throws(
      () => generateCertificate({ commonName: 'x', days: 0 }),
      (e: unknown) => e instanceof CertificateError && e.code === 'CERT_BAD_VALIDITY',
    );
  });
});

describe('certificate credentials against the stand-in', () => {
  let env: Env;
  const cert = generateCertificate({ commonName: 'regentra staff' });
  before(async () => {
    env = await startEnv({ staff: null, acme: null });
  });
  after(() => env.close());

  test('not uploaded yet: AADSTS700027 (key not found), explained, and the test says it used the certificate', async () => {
    const result = await checkConnection(env.core, { ...base, clientSecret: '', certificate: cert });
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'AADSTS700027');
    assert.match(result.error?.hint ?? '', /Certificates & secrets → Certificates/);
    assert.match(result.credential, new RegExp(`certificate \\(thumbprint ${cert.thumbprint}\\)`));
    assert.equal(env.fe.tokenRequests.at(-1)?.clientAuth, 'private_key_jwt');
  });

  test('uploaded: Test Connection passes with a signed assertion (x5t#S256, aud = token endpoint, short exp, unique jti)', async () => {
    env.fe.uploadCertificate(STAFF_APP.clientId, cert.pem);
    const result = await checkConnection(env.core, { ...base, clientSecret: '', certificate: cert });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.match(result.steps[1]?.detail ?? '', /the certificate \(thumbprint [0-9A-F]{40}\) is valid/);
    const recorded = env.fe.tokenRequests.at(-1);
    assert.equal(recorded?.clientAuth, 'private_key_jwt');
    assert.equal(recorded?.params.client_secret, undefined);
  });

  test('the assertion itself, as sent', async () => {
    const bodies: string[] = [];
    // a client of its own whose HTTP calls are recorded (the gateway's core is frozen)
    const recording: typeof fetch = async (input, init) => {
      if (init?.body !== undefined && init.body !== null) bodies.push(String(init.body));
      return env.core.fetch(input, init);
    };
    const entra = createEntraClient({ config: env.core.config, metrics: env.core.metrics, fetch: recording });
    await entra.clientCredentials({ ...base, clientSecret: '', certificate: cert });
    await entra.clientCredentials({ ...base, clientSecret: '', certificate: cert });
    const assertions = bodies.map((b) => new URLSearchParams(b).get('client_assertion')).filter((a): a is string => a !== null);
    assert.equal(assertions.length, 2);
    const [h, p] = (assertions[0] as string)
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    assert.equal(h?.alg, 'RS256');
    assert.equal(h?.['x5t#S256'], cert.x5tS256);
    assert.equal(p?.aud, `${env.fe.url}/${TENANTS.staff}/oauth2/v2.0/token`);
    assert.equal(p?.iss, STAFF_APP.clientId);
    assert.equal(p?.sub, STAFF_APP.clientId);
    assert.ok((p?.exp as number) - (p?.iat as number) <= 120, 'short-lived');
    const second = JSON.parse(Buffer.from((assertions[1] as string).split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    assert.notEqual(second.jti, p?.jti, 'a fresh jti each time');
    assert.ok(!bodies.some((b) => b.includes('client_secret')), 'no secret sent');
  });

  test('the stand-in refuses a replayed assertion, a wrong audience, a foreign issuer and a forged signature', async () => {
    const token = `${env.fe.url}/${TENANTS.staff}/oauth2/v2.0/token`;
    const { SignJWT, importPKCS8 } = await import('jose');
    const key = await importPKCS8(cert.privateKeyPem, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const make = (claims: Record<string, unknown>, signWith = key) =>
      new SignJWT({ jti: crypto.randomUUID(), ...claims }).setProtectedHeader({ alg: 'RS256', 'x5t#S256': cert.x5tS256 }).sign(signWith);
    const post = async (assertion: string) => {
      const res = await fetch(token, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: STAFF_APP.clientId,
          scope: 'https://graph.microsoft.com/.default',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      });
      return { status: res.status, body: (await res.json()) as { error: string; error_codes?: number[]; error_description: string } };
    };
    const good = { iss: STAFF_APP.clientId, sub: STAFF_APP.clientId, aud: token, iat: now, nbf: now, exp: now + 60 };
    const once = await make(good);
    assert.equal((await post(once)).status, 200);
    const replay = await post(once);
    assert.deepEqual([replay.status, replay.body.error_codes], [401, [50013]]);
    assert.match(replay.body.error_description, /already used/);
    const aud = await post(await make({ ...good, aud: `${env.fe.url}/${TENANTS.staff}/v2.0` }));
    assert.deepEqual(aud.body.error_codes, [700023]);
    const iss = await post(await make({ ...good, iss: 'someone-else', sub: 'someone-else' }));
    assert.deepEqual(iss.body.error_codes, [700021]);
    const stale = await post(await make({ ...good, iat: now - 3600, nbf: now - 3600, exp: now - 1800 }));
    assert.deepEqual(stale.body.error_codes, [700024]);
    const other = generateCertificate({ commonName: 'forger' });
    const forged = await post(await make(good, await importPKCS8(other.privateKeyPem, 'RS256')));
    assert.deepEqual(forged.body.error_codes, [700027]);
    assert.match(forged.body.error_description, /invalid signature/);
  });

  test('an expired certificate: AADSTS700027 (key expired)', async () => {
    const old = generateCertificate({ commonName: 'old', days: 1, now: Date.now() - 3 * 86_400_000 });
    env.fe.uploadCertificate(STAFF_APP.clientId, old.pem);
    const result = await checkConnection(env.core, { ...base, clientSecret: '', certificate: old });
    assert.equal(result.error?.code, 'AADSTS700027');
    assert.match(result.error?.message ?? '', /certificate/);
  });

  test('rotation: Microsoft refuses the first credential (unknown certificate), the next one (the secret) is used', async () => {
    const unknown = generateCertificate({ commonName: 'not uploaded' });
    const before = env.fe.tokenRequests.length;
    const result = await checkConnection(env.core, { ...base, clientSecret: '', certificate: unknown, alternates: [{ clientSecret: STAFF_APP.clientSecret }] });
    assert.equal(result.ok, true);
    assert.deepEqual(
      env.fe.tokenRequests.slice(before).map((r) => r.clientAuth),
      ['private_key_jwt', 'client_secret_post'],
    );
    // an error that is not about the credential is not retried with another one
    const again = env.fe.tokenRequests.length;
    const wrongTenant = await checkConnection(env.core, {
      ...base,
      tenantId: TENANTS.acme,
      clientSecret: '',
      certificate: cert,
      alternates: [{ clientSecret: STAFF_APP.clientSecret }],
    });
    assert.equal(wrongTenant.ok, false);
    assert.equal(env.fe.tokenRequests.length - again, 1);
  });
});
