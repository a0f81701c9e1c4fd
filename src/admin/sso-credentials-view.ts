/**
 * Settings → Security → Single Sign-On → Credentials (pure template): the client
 * secret's expiry, the certificates (thumbprints as Azure shows them, download, test,
 * remove) and "generate a certificate". Which credential is in use and which are
 * fallbacks follows src/auth/entra/staff-credentials.ts. Private keys are never rendered.
 */
import { html, type SafeHtml } from '../pages/html.ts';
import { ADMIN_PATHS, badge, copyField, formatTime, hiddenFields, noticeBox, type Notice } from '../pages/admin.ts';
import type { StaffCertificate, StaffSsoSettings } from '../auth/policy.ts';
import type { StaffCredential } from '../auth/entra/staff-credentials.ts';
import { daysLeft, expiresInWords, WARN_DAYS } from '../auth/entra/expiry.ts';

export const CREDENTIALS_PATH = `${ADMIN_PATHS.sso}/credentials`;
export const certificateFile = (thumbprint: string, ext: 'cer' | 'pem'): string => `${ADMIN_PATHS.sso}/certificates/${thumbprint}.${ext}`;

export interface CredentialsView {
  readonly csrf: string;
  readonly version: number;
  readonly settings: StaffSsoSettings;
  /** in the order the gateway uses them (the first is in use) */
  readonly credentials: readonly StaffCredential[];
  readonly now: number;
  readonly notice: Notice | null;
  readonly fieldError: string | null;
}

function expiryBadge(expiresAt: number | null, now: number): SafeHtml {
  if (expiresAt === null) return badge('off', 'Expiry not entered');
  const days = daysLeft(expiresAt, now);
  return badge(days <= 0 ? 'error' : days <= WARN_DAYS ? 'error' : 'ok', days <= 0 ? 'Expired' : expiresInWords(days).replace(/^e/, 'E'));
}

function role(v: CredentialsView, id: string): string {
  const i = v.credentials.findIndex((c) => c.id === id);
  if (i < 0) return 'not usable (its key cannot be read with the current encryption keys)';
  if (i === 0) return 'in use';
  return 'fallback (used if Microsoft refuses the one in use)';
}

function secretPanel(v: CredentialsView): SafeHtml | string {
  const s = v.settings;
  if (!s.clientSecretEnc) return '';
  const hasCertificate = (s.certificates?.length ?? 0) > 0;
  const value = s.secretExpiresAt ? new Date(s.secretExpiresAt).toISOString().slice(0, 10) : '';
  return html`<div class="panel">
<h3>Client secret ${expiryBadge(s.secretExpiresAt ?? null, v.now)}</h3>
<dl class="kv"><dt>Set</dt><dd>${formatTime(s.secretSetAt)}</dd><dt>Expires</dt><dd>${s.secretExpiresAt ? formatTime(s.secretExpiresAt) : 'not entered'}</dd><dt>Role</dt><dd>${role(v, 'secret')}</dd></dl>
<form method="post" action="${CREDENTIALS_PATH}">
${hiddenFields(v.csrf, v.version)}
<label for="secretExpires">Secret expires on <span class="hint">the “Expires” date Azure shows next to the secret under Certificates &amp; secrets (at most 24 months after it was created)</span></label>
<input id="secretExpires" name="secretExpires" type="date" value="${value}"${v.fieldError ? html` aria-invalid="true" aria-describedby="secretExpires-error"` : ''}>
${v.fieldError ? html`<p class="field-error" id="secretExpires-error">${v.fieldError}</p>` : ''}
<div class="actions"><button type="submit" name="action" value="secret-expiry" class="btn secondary inline">Save expiry date</button>
${hasCertificate ? html`<button type="submit" name="action" value="remove-secret" class="btn secondary inline">Remove the client secret</button>` : ''}</div>
</form>
</div>`;
}

function lastTest(c: StaffCertificate): SafeHtml | string {
  const t = c.lastTest;
  if (!t) return '';
  if (t.ok) return html`<p>Test Connection passed with this certificate on ${formatTime(t.at)}.</p>`;
  return html`<div class="alert error" role="alert"><p><strong>Test Connection failed with this certificate</strong> (${formatTime(t.at)})${t.code ? html` — <strong>${t.code}</strong>` : ''}: ${t.message}</p>${t.hint ? html`<p><strong>How to fix it:</strong> ${t.hint}</p>` : ''}</div>`;
}

function certificatePanel(v: CredentialsView, c: StaffCertificate, i: number): SafeHtml {
  const tested = v.credentials.find((x) => x.id === c.thumbprint)?.working ?? false;
  return html`<div class="panel">
<h3>Certificate ${expiryBadge(c.notAfter, v.now)} ${tested ? badge('ok', 'Tested') : badge('off', 'Not tested')}</h3>
${copyField(`cert-thumbprint-${i}`, 'Thumbprint (SHA-1, as Azure shows it)', c.thumbprint)}
${copyField(`cert-x5t-${i}`, 'x5t#S256 (SHA-256, in the client assertions)', c.x5tS256)}
<dl class="kv"><dt>Valid</dt><dd>${formatTime(c.notBefore)} to ${formatTime(c.notAfter)}</dd><dt>Created</dt><dd>${formatTime(c.createdAt)}${c.createdBy ? ` by ${c.createdBy}` : ''}</dd><dt>Role</dt><dd>${role(v, c.thumbprint)}</dd></dl>
<p><a href="${certificateFile(c.thumbprint, 'cer')}" download>Download certificate (.cer)</a> · <a href="${certificateFile(c.thumbprint, 'pem')}" download>Download (.pem)</a></p>
${lastTest(c)}
<form method="post" action="${CREDENTIALS_PATH}" class="actions">
${hiddenFields(v.csrf, v.version)}<input type="hidden" name="thumbprint" value="${c.thumbprint}">
<button type="submit" name="action" value="test-certificate" class="btn inline${tested ? ' secondary' : ''}">Test Connection with this certificate</button>
<button type="submit" name="action" value="remove-certificate" class="btn secondary inline">Remove</button>
</form>
</div>`;
}

export function credentialsSection(v: CredentialsView): SafeHtml {
  const certs = v.settings.certificates ?? [];
  return html`<section id="credentials" aria-labelledby="credentials-title">
<h2 id="credentials-title">Credentials: client secret and certificates</h2>
<p>Microsoft recommends a <strong>certificate</strong> over a client secret for production. Regentra generates the key pair and keeps the private key encrypted; you upload only the certificate in Azure (App registration → Certificates &amp; secrets → Certificates → Upload certificate) and check that the thumbprint Azure shows is the one below. Credentials expire: add a new one, test it, then remove the old one — sign-in keeps working throughout, because Regentra uses the newest tested credential and falls back to the others if Microsoft refuses it.</p>
${noticeBox(v.notice)}
${secretPanel(v)}
${certs.map((c, i) => certificatePanel(v, c, i))}
<form method="post" action="${CREDENTIALS_PATH}" class="panel">
${hiddenFields(v.csrf, v.version)}
<h3>Add a certificate</h3>
<label for="certDays">Valid for</label>
<select id="certDays" name="days"><option value="365" selected>1 year</option><option value="730">2 years</option></select>
<div class="actions"><button type="submit" name="action" value="generate-certificate" class="btn inline">Generate certificate</button></div>
</form>
</section>`;
}

/** The banner of every settings page while a credential expires within WARN_DAYS (or has expired). */
export function expiryBanner(items: ReadonlyArray<{ readonly text: string; readonly expired: boolean }>): SafeHtml | string {
  if (items.length === 0) return '';
  const expired = items.some((i) => i.expired);
  return html`<div class="alert ${expired ? 'error' : 'warn'}" role="${expired ? 'alert' : 'status'}" data-banner="credential-expiry">
<p><strong>${expired ? 'A Microsoft sign-in credential has expired.' : 'A Microsoft sign-in credential expires soon.'}</strong> When the last one expires, Microsoft sign-in stops (with SSO-only on, nobody can sign in).</p>
<ul>${items.map((i) => html`<li>${i.text}</li>`)}</ul>
<p><a href="${ADMIN_PATHS.sso}#credentials">Add a new credential, test it, then remove the old one</a>.</p>
</div>`;
}
