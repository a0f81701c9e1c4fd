// Settings → Single Sign-On → Credentials, against the Entra stand-in: generate a
// certificate, download it (.cer/.pem) with its thumbprints, Test Connection with it
// (refused until uploaded in "Azure", then accepted and used for sign-in), rotation
// (secret → certificate, the old one removed explicitly, never the last tested one
// while SSO is on), the secret's expiry date, and the 30-day banner on every page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import type { FakeEntra } from '../../dev/fake-entra/index.ts';
import type { TestGateway } from '../support/gateway.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY, type StaffSsoSettings } from '../../src/auth/policy.ts';
import { sealStaffSecret, settingsFingerprint } from '../../src/auth/entra/index.ts';
import { staffTarget } from '../../src/auth/entra/target.ts';
import { Browser, HOSTS, PATH, STAFF_APP, TENANTS, staffAdmin, startAdminGateway, startEntra, unescapeHtml } from './helpers.ts';

const CREDENTIALS = `${PATH.sso}/credentials`;
const DAY = 86_400_000;

let entra: FakeEntra;
let gw: TestGateway;
let admin: Browser;

async function settings(): Promise<StaffSsoSettings> {
  return { ...DEFAULT_STAFF_SSO, ...((await gw.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY))?.value ?? {}) };
}

async function put(patch: Partial<StaffSsoSettings>): Promise<void> {
  const s = await gw.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY);
  await gw.store.putSetting(STAFF_SSO_KEY, { ...DEFAULT_STAFF_SSO, ...(s?.value ?? {}), ...patch });
  gw.core.policy.invalidate();
}

const credential = (fields: Record<string, string>) => admin.submit(PATH.sso, fields, { action: CREDENTIALS });

describe('SSO credentials: certificates, rotation, expiry', () => {
  before(async () => {
    entra = await startEntra();
    gw = await startAdminGateway({ entra });
    admin = new Browser(gw, HOSTS.staff, (await staffAdmin(gw)).cookie);
    // the secret in use, tested and on (as set up through the page by sso.test.ts)
    const creds = { tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret };
    await put({
      tenantId: TENANTS.staff,
      clientId: STAFF_APP.clientId,
      clientSecretEnc: sealStaffSecret(gw.core, STAFF_APP.clientSecret),
      secretSetAt: Date.now(),
      testedFingerprint: settingsFingerprint(gw.core, creds),
      testedAt: Date.now(),
      enabled: true,
    });
  });
  after(async () => {
    await gw?.close();
    await entra?.close();
  });

  test('generate: a certificate with its thumbprints on the page, downloadable as .cer and .pem; no key ever shown', async () => {
    const res = await credential({ action: 'generate-certificate', days: '365' });
    assert.equal(res.status, 303, res.body);
    assert.equal(res.location, `${PATH.sso}?cred=generated#credentials`);
    const [cert] = (await settings()).certificates ?? [];
    assert.ok(cert, 'stored');
    assert.ok(cert.keyEnc.startsWith('v1.') && !cert.keyEnc.includes('PRIVATE KEY'), 'the key is sealed');
    const page = await admin.get(`${PATH.sso}?cred=generated`);
    const body = unescapeHtml(page.body);
    assert.match(body, /Certificate generated/);
    assert.ok(body.includes(cert.thumbprint) && body.includes(cert.x5tS256));
    assert.match(body, /Thumbprint \(SHA-1, as Azure shows it\)/);
    assert.match(body, /Expires in 36[45] days/);
    assert.match(body, /Not tested/);

    const cer = await gw.request(HOSTS.staff, `${PATH.sso}/certificates/${cert.thumbprint}.cer`, { cookie: admin.cookieHeader() });
    assert.equal(cer.statusCode, 200);
    assert.equal(cer.headers['content-type'], 'application/pkix-cert');
    assert.match(String(cer.headers['content-disposition']), /^attachment; filename="regentra-staff-sso-[0-9a-f]{8}\.cer"$/);
    const der = Buffer.from(await cer.body.arrayBuffer());
    const x = new X509Certificate(der);
    assert.equal(createHash('sha1').update(x.raw).digest('hex').toUpperCase(), cert.thumbprint);
    const pem = await admin.get(`${PATH.sso}/certificates/${cert.thumbprint}.pem`);
    assert.match(pem.body, /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await admin.get(`${PATH.sso}/certificates/${'0'.repeat(40)}.cer`)).status, 404);
    admin.assertNeverSaw('PRIVATE KEY');
    // only admins: no session, no certificate
    const anon = await gw.request(HOSTS.staff, `${PATH.sso}/certificates/${cert.thumbprint}.cer`);
    assert.notEqual(anon.statusCode, 200);
    await anon.body.dump();
  });

  test('test before uploading: AADSTS700027 explained on the page; after uploading: passed, and sign-in uses the certificate', async () => {
    const [cert] = (await settings()).certificates ?? [];
    assert.ok(cert);
    const failed = await credential({ action: 'test-certificate', thumbprint: cert.thumbprint });
    assert.equal(failed.location, `${PATH.sso}?cred=test-failed#credentials`);
    let body = unescapeHtml((await admin.get(`${PATH.sso}?cred=test-failed`)).body);
    assert.match(body, /Test Connection failed with this certificate/);
    assert.match(body, /AADSTS700027/);
    assert.match(body, /upload it under Certificates & secrets → Certificates/);
    assert.equal((await staffTarget(gw.core, gw.core.sites.lookup(HOSTS.staff)!)).app.certificate ?? null, null, 'an untested certificate is not used first');

    entra.uploadCertificate(STAFF_APP.clientId, (await admin.get(`${PATH.sso}/certificates/${cert.thumbprint}.pem`)).body);
    const passed = await credential({ action: 'test-certificate', thumbprint: cert.thumbprint });
    assert.equal(passed.location, `${PATH.sso}?cred=tested#credentials`);
    assert.equal(entra.tokenRequests.at(-1)?.clientAuth, 'private_key_jwt');
    body = unescapeHtml((await admin.get(`${PATH.sso}?cred=tested`)).body);
    assert.match(body, /Test Connection passed with the certificate/);
    assert.match(body, /Tested/);
    const target = await staffTarget(gw.core, gw.core.sites.lookup(HOSTS.staff)!);
    assert.equal(target.app.certificate?.thumbprint, cert.thumbprint, 'the newest tested credential is used');
    assert.equal(target.app.alternates?.[0]?.clientSecret, STAFF_APP.clientSecret, 'the secret stays as fallback');
    const audit = await gw.store.listAudit({ limit: 20 });
    assert.ok(audit.some((e) => e.type === 'sso.test' && (e.details as { credential?: string }).credential === 'certificate' && e.outcome === 'success'));
  });

  test('rotation: the secret is removed explicitly; the last tested credential cannot be removed while SSO is on', async () => {
    const removeSecret = await credential({ action: 'remove-secret' });
    assert.equal(removeSecret.location, `${PATH.sso}?cred=secret-removed#credentials`);
    const s = await settings();
    assert.equal(s.clientSecretEnc, null);
    assert.equal(s.enabled, true);
    const cert = s.certificates?.[0];
    assert.ok(cert);
    const refused = await credential({ action: 'remove-certificate', thumbprint: cert.thumbprint });
    assert.equal(refused.location, `${PATH.sso}?cred=last-credential#credentials`);
    assert.equal((await settings()).certificates?.length, 1);
    assert.equal((await gw.core.policy.forSite(gw.core.sites.lookup(HOSTS.staff)!)).sso, true, 'SSO stays on with the certificate alone');
  });

  test('the secret expiry date: validated, then "expires in N days"; within 30 days a banner on every settings page', async () => {
    await put({ clientSecretEnc: sealStaffSecret(gw.core, STAFF_APP.clientSecret), secretSetAt: Date.now() });
    const past = await credential({ action: 'secret-expiry', secretExpires: '2001-01-01' });
    assert.equal(past.status, 400);
    assert.match(unescapeHtml(past.body), /This date is in the past/);
    const far = await credential({ action: 'secret-expiry', secretExpires: new Date(Date.now() + 900 * DAY).toISOString().slice(0, 10) });
    assert.match(unescapeHtml(far.body), /at most 24 months/);
    const bad = await credential({ action: 'secret-expiry', secretExpires: 'soon' });
    assert.match(unescapeHtml(bad.body), /YYYY-MM-DD/);
    assert.ok(!bad.body.includes('data-banner="credential-expiry"'), 'no banner while nothing expires within 30 days');

    const soon = new Date(Date.now() + 12 * DAY).toISOString().slice(0, 10);
    assert.equal((await credential({ action: 'secret-expiry', secretExpires: soon })).location, `${PATH.sso}?cred=expiry-saved#credentials`);
    for (const path of [PATH.sso, PATH.audit, PATH.portal('acme')]) {
      const body = unescapeHtml((await admin.get(path)).body);
      assert.match(body, /data-banner="credential-expiry"/, path);
      assert.match(body, /The client secret of the staff app expires in 1[23] days/, path);
    }
  });

  test('roles from Entra: the form refuses what Azure never sends, saves a mapping (audited), and turns it off', async () => {
    const roles = (fields: Record<string, string>) => admin.submit(PATH.sso, fields, { action: `${PATH.sso}/roles` });
    const names = await roles({ source: 'groups', values: 'Regentra Admins' });
    assert.equal(names.status, 400);
    assert.match(unescapeHtml(names.body), /is not a group object ID .* Group names are not sent in tokens/);
    const spaces = await roles({ source: 'roles', values: 'Regentra Admin' });
    assert.match(unescapeHtml(spaces.body), /is not an app role value/);
    const ok = await roles({ source: 'roles', values: 'Regentra.Admin\nRegentra.Owner' });
    assert.equal(ok.location, `${PATH.sso}?roles=saved#roles`);
    assert.deepEqual((await settings()).roleMapping, { source: 'roles', values: ['Regentra.Admin', 'Regentra.Owner'] });
    const page = unescapeHtml((await admin.get(`${PATH.sso}?roles=saved`)).body);
    assert.match(page, /are <strong>admins<\/strong> when their ID token lists one of these app roles/);
    const audit = await gw.store.listAudit({ type: 'settings.change', limit: 5 });
    assert.ok(audit.some((e) => (e.details as { action?: string }).action === 'role-mapping'));
    assert.equal((await roles({ source: 'none', values: '' })).location, `${PATH.sso}?roles=off#roles`);
    assert.equal((await settings()).roleMapping, null);
  });
});
