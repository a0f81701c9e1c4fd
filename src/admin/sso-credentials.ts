/**
 * The staff app's credentials on the SSO page (section "Credentials"):
 *
 * POST /.auth/admin/security/sso/credentials, `action` =
 *   generate-certificate  a new RSA 2048 key pair + self-signed certificate (key sealed);
 *   test-certificate      Test Connection with one certificate (discovery + app token);
 *                         a pass marks it tested for the saved tenant and client;
 *   remove-certificate    explicit removal (never the last tested credential while SSO is on);
 *   secret-expiry         the client secret's expiry date, as Azure shows it;
 *   remove-secret         drop the secret once a certificate replaced it.
 * GET  /.auth/admin/security/sso/certificates/<thumbprint>.cer|.pem  the public certificate.
 *
 * Same rules as the rest of the page: CSRF, the version the form was rendered from,
 * audited (never a key), answered with a redirect (notice in `?cred=`).
 */
import type { FieldChanges } from '../settings/audit.ts';
import { SETTINGS } from '../settings/store.ts';
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STAFF_SSO_KEY, type StaffCertificate, type StaffSsoSettings } from '../auth/policy.ts';
import { STAFF_REALM } from '../routing/sites.ts';
import { replyError } from '../pages/errors.ts';
import { ADMIN_PATHS, type Notice } from '../pages/admin.ts';
import { actorOf, csrfValid, csrfError, type AdminActor } from './access.ts';
import { auditAdmin, auditSettingsChange, CONFLICT_TEXT, formVersion, loadSetting, saveSetting, type Versioned } from './settings.ts';
import { formBody, textField } from './forms.ts';
import { checkConnection, settingsFingerprint } from '../auth/entra/index.ts';
import { certificateDer, generateCertificate } from '../util/certificate.ts';
import { certificateAad, openStaffCertificate, staffCredentials } from '../auth/entra/staff-credentials.ts';
import { checkCredentialExpiry } from '../auth/entra/expiry.ts';
import { CREDENTIALS_PATH, type CredentialsView } from './sso-credentials-view.ts';

const DAY_MS = 86_400_000;
/** Azure's longest client secret lifetime (24 months), with a day's slack for time zones */
const MAX_SECRET_DAYS = 731;
const MAX_CERTIFICATES = 4;

const NOTICES: Readonly<Record<string, Notice>> = Object.freeze({
  generated: {
    kind: 'ok',
    text: 'Certificate generated. Download it (.cer), upload it in Azure under Certificates & secrets → Certificates, check the thumbprint, then click “Test Connection with this certificate”.',
  },
  tested: {
    kind: 'ok',
    text: 'Test Connection passed with the certificate: Microsoft accepted it. Regentra now uses it for sign-in (the other credentials stay as fallbacks until you remove them).',
  },
  'test-failed': { kind: 'error', text: 'Test Connection failed with the certificate: see the details below.' },
  removed: { kind: 'ok', text: 'Certificate removed. Delete it in Azure too (Certificates & secrets).' },
  'secret-removed': { kind: 'ok', text: 'Client secret removed. Delete it in Azure too (Certificates & secrets).' },
  'expiry-saved': { kind: 'ok', text: 'Expiry date saved: Regentra warns every admin 30 days before.' },
  conflict: { kind: 'error', text: CONFLICT_TEXT },
  'need-app': { kind: 'error', text: 'Save the Tenant ID and Client ID above first: the test signs in as that app.' },
  'last-credential': {
    kind: 'error',
    text: 'This is the only tested credential and SSO is on: removing it would stop Microsoft sign-in. Add another credential and test it first, or turn SSO off.',
  },
  'too-many': { kind: 'error', text: `There are already ${MAX_CERTIFICATES} certificates: remove one you no longer use first.` },
  unknown: { kind: 'error', text: 'That certificate is no longer there (someone removed it). Review the list below.' },
});

export function credentialsNotice(query: unknown): Notice | null {
  const key = (query as { cred?: unknown } | null)?.cred;
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? (NOTICES[key] as Notice) : null;
}

/** What the credentials section shows (the SSO page renders it). */
export function credentialsView(
  core: Core,
  request: FastifyRequest,
  csrf: string,
  current: Versioned<StaffSsoSettings>,
  fieldError: string | null = null,
): CredentialsView {
  return {
    csrf,
    version: current.version,
    settings: current.value,
    credentials: staffCredentials(core, current.value),
    now: core.now(),
    notice: credentialsNotice(request.query),
    fieldError,
  };
}

/** Parse the expiry date field: a date (YYYY-MM-DD) within Azure's 24 months, not in the past. */
export function parseSecretExpiry(raw: string | null, now: number): { ok: true; value: number } | { ok: false; error: string } {
  if (!raw || !/^\d{4}-\d{2}-\d{2}$/.test(raw)) return { ok: false, error: 'Enter the date as shown in Azure (YYYY-MM-DD).' };
  const at = Date.parse(`${raw}T23:59:59Z`);
  if (!Number.isFinite(at)) return { ok: false, error: 'This is not a date.' };
  if (at < now) return { ok: false, error: 'This date is in the past: an expired secret no longer works. Create a new secret (or a certificate) instead.' };
  if (at - now > MAX_SECRET_DAYS * DAY_MS) return { ok: false, error: 'Azure client secrets last at most 24 months: check the date Azure shows.' };
  return { ok: true, value: at };
}

export function credentialRoutes(
  app: FastifyInstance,
  core: Core,
  rerender: (request: FastifyRequest, reply: FastifyReply, status: number, secretExpiryError: string) => Promise<FastifyReply>,
): void {
  const { now } = core;
  const back = (reply: FastifyReply, cred: keyof typeof NOTICES) =>
    reply.code(303).header('cache-control', 'no-store').redirect(`${ADMIN_PATHS.sso}?cred=${cred}#credentials`);
  const refresh = () => checkCredentialExpiry(core).catch((err: unknown) => core.log.error({ err }, 'credential expiry check failed'));

  async function save(
    request: FastifyRequest,
    actor: AdminActor,
    current: Versioned<StaffSsoSettings>,
    next: StaffSsoSettings,
    action: string,
    changes: FieldChanges,
  ): Promise<boolean> {
    const stamped = { ...next, updatedBy: actor.user.email, updatedAt: now() };
    if (!(await saveSetting(core, STAFF_SSO_KEY, stamped, current.version))) return false;
    await auditSettingsChange(core, request, actor, { setting: STAFF_SSO_KEY, outcome: 'success', realm: STAFF_REALM, action, changes });
    await refresh();
    return true;
  }

  /** SSO stays usable without this credential: another tested one remains (or SSO is off). */
  function removable(s: StaffSsoSettings, id: string): boolean {
    if (!s.enabled) return true;
    return staffCredentials(core, s).some((c) => c.id !== id && c.working && (c.expiresAt === null || c.expiresAt > now()));
  }

  app.post(CREDENTIALS_PATH, async (request, reply) => {
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    const actor = actorOf(request);
    const action = typeof body.action === 'string' ? body.action : '';
    const version = formVersion(body);
    if (version === null) return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'The form is incomplete. Reload the page and try again.' });
    const current = await loadSetting(core, SETTINGS.staffSso, STAFF_SSO_KEY);
    if (version !== current.version) return back(reply, 'conflict');
    const s = current.value;
    const certs = s.certificates ?? [];
    const thumbprint = textField(body, 'thumbprint', 64)?.toUpperCase() ?? '';
    const cert = certs.find((c) => c.thumbprint === thumbprint);

    switch (action) {
      case 'generate-certificate': {
        if (certs.length >= MAX_CERTIFICATES) return back(reply, 'too-many');
        const days = textField(body, 'days') === '730' ? 730 : 365;
        const host = request.siteHost;
        const generated = generateCertificate({ commonName: `Regentra Gateway staff SSO (${host})`, days, now: now() });
        const stored: StaffCertificate = {
          pem: generated.pem,
          thumbprint: generated.thumbprint,
          x5tS256: generated.x5tS256,
          notBefore: generated.notBefore,
          notAfter: generated.notAfter,
          keyEnc: core.secretBox.seal(generated.privateKeyPem, certificateAad(generated.x5tS256)),
          createdAt: now(),
          createdBy: actor.user.email,
          testedFingerprint: null,
          testedAt: null,
          lastTest: null,
        };
        const ok = await save(request, actor, current, { ...s, certificates: [...certs, stored] }, 'certificate-generated', {
          thumbprint: stored.thumbprint,
          notAfter: stored.notAfter,
        });
        return back(reply, ok ? 'generated' : 'conflict');
      }
      case 'test-certificate': {
        if (!cert) return back(reply, 'unknown');
        if (!s.tenantId || !s.clientId) return back(reply, 'need-app');
        const opened = openStaffCertificate(core, cert);
        const tested = { tenantId: s.tenantId, clientId: s.clientId, clientSecret: '', certificate: opened };
        const check = opened ? await checkConnection(core, tested) : null;
        const error =
          check?.error ??
          (opened
            ? null
            : {
                code: 'KEY_UNREADABLE',
                message: "The certificate's private key cannot be read with the current encryption keys.",
                hint: 'Generate a new certificate.',
              });
        await auditAdmin(core, request, actor, {
          type: 'sso.test',
          outcome: check?.ok ? 'success' : 'failure',
          realm: STAFF_REALM,
          details: {
            step: 'connection',
            credential: 'certificate',
            thumbprint: cert.thumbprint,
            tenantId: s.tenantId,
            clientId: s.clientId,
            error: error?.code ?? null,
          },
        });
        const passed = check?.ok === true && opened !== null;
        const updated: StaffCertificate = {
          ...cert,
          ...(passed ? { testedFingerprint: settingsFingerprint(core, { ...tested, certificate: opened }), testedAt: now() } : {}),
          lastTest: { ok: passed, at: now(), code: error?.code ?? null, message: error?.message ?? 'passed', hint: error?.hint ?? null },
        };
        const next = { ...s, certificates: certs.map((c) => (c === cert ? updated : c)) };
        const ok = await save(request, actor, current, next, passed ? 'certificate-tested' : 'certificate-test-failed', { thumbprint: cert.thumbprint });
        return back(reply, !ok ? 'conflict' : passed ? 'tested' : 'test-failed');
      }
      case 'remove-certificate': {
        if (!cert) return back(reply, 'unknown');
        if (!removable(s, cert.thumbprint)) return back(reply, 'last-credential');
        const ok = await save(request, actor, current, { ...s, certificates: certs.filter((c) => c !== cert) }, 'certificate-removed', {
          thumbprint: cert.thumbprint,
        });
        return back(reply, ok ? 'removed' : 'conflict');
      }
      case 'secret-expiry': {
        const parsed = parseSecretExpiry(textField(body, 'secretExpires', 20), now());
        if (!parsed.ok) return rerender(request, reply, 400, parsed.error);
        const ok = await save(request, actor, current, { ...s, secretExpiresAt: parsed.value }, 'secret-expiry', { secretExpiresAt: parsed.value });
        return back(reply, ok ? 'expiry-saved' : 'conflict');
      }
      case 'remove-secret': {
        if (!s.clientSecretEnc || certs.length === 0) return back(reply, 'unknown');
        if (!removable(s, 'secret')) return back(reply, 'last-credential');
        const ok = await save(
          request,
          actor,
          current,
          { ...s, clientSecretEnc: null, secretSetAt: null, secretExpiresAt: null, testedFingerprint: null },
          'secret-removed',
          { clientSecret: 'removed' },
        );
        return back(reply, ok ? 'secret-removed' : 'conflict');
      }
      default:
        return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'Unknown action.' });
    }
  });

  app.get(`${ADMIN_PATHS.sso}/certificates/:file`, async (request, reply) => {
    const file = (request.params as { file?: string }).file ?? '';
    const m = /^([0-9A-F]{40})\.(cer|pem)$/.exec(file);
    const { value } = await loadSetting(core, SETTINGS.staffSso, STAFF_SSO_KEY);
    const cert = m ? (value.certificates ?? []).find((c) => c.thumbprint === m[1]) : undefined;
    if (!m || !cert) return replyError(request, reply, 'NOT_FOUND');
    const name = `regentra-staff-sso-${cert.thumbprint.slice(0, 8).toLowerCase()}.${m[2]}`;
    reply.header('cache-control', 'no-store').header('content-disposition', `attachment; filename="${name}"`).header('x-content-type-options', 'nosniff');
    return m[2] === 'cer' ? reply.type('application/pkix-cert').send(certificateDer(cert.pem)) : reply.type('application/x-pem-file').send(cert.pem);
  });
}
