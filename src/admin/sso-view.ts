/**
 * Settings → Security → Single Sign-On: the page body (pure template).
 * The client secret is never rendered: only when it was set.
 */
import { html, type SafeHtml } from '../pages/html.ts';
import { ADMIN_PATHS, badge, copyField, formatTime, hiddenFields, noticeBox, settingRow, type Notice } from '../pages/admin.ts';
import type { StaffSsoSettings } from '../auth/policy.ts';
import { microsoftIdsHtml, type AppRedirectUris, type ConnectionCheck, type EntraErrorInfo, type TestSignInResult } from '../auth/entra/index.ts';
import { GUID_EXAMPLE } from './forms.ts';

export interface PendingTest {
  readonly tenantId: string;
  readonly clientId: string;
  readonly newSecret: boolean;
  readonly passedAt: number;
  readonly claims: TestSignInResult['claims'];
}

/** the values of a Test Connection that did not pass (abandoned, or failed at Microsoft) */
export interface UntestedDraft {
  readonly tenantId: string;
  readonly clientId: string;
  readonly newSecret: boolean;
  readonly startedAt: number;
}

export interface SsoView {
  readonly csrf: string;
  readonly version: number;
  readonly settings: StaffSsoSettings;
  /** the saved values passed Test Connection */
  readonly verified: boolean;
  /** every URI to add to the app registration's redirect URIs (callback and signed-out page per staff host) */
  readonly redirectUris: AppRedirectUris;
  readonly form: { readonly tenantId: string; readonly clientId: string };
  readonly fieldErrors: Readonly<Partial<Record<'tenantId' | 'clientId' | 'clientSecret', string>>>;
  readonly notice: Notice | null;
  /** the connection check of this request (shown when it failed) */
  readonly check: ConnectionCheck | null;
  /** the test sign-in that came back on this request */
  readonly result: TestSignInResult | null;
  /** tested values that passed but are not saved */
  readonly pending: PendingTest | null;
  /** tested values that did not pass: shown apart from the form, never as the settings */
  readonly untested: UntestedDraft | null;
  /** the admin signed in with SSO (may turn on SSO-only) */
  readonly ssoSession: boolean;
}

const PERMISSIONS = ['openid', 'profile', 'email', 'User.Read'] as const;
const CLI_DISABLE = 'regentra-gateway sso disable-sso-only';
const DISCOVERY_HINT =
  'Check the Tenant ID (Azure Active Directory → Overview → Tenant ID, a GUID) and that this server can reach Microsoft’s sign-in service.';

export function errorInfo(e: EntraErrorInfo): SafeHtml {
  return html`<p><strong>${e.code}</strong>: ${e.message}</p>${e.hint ? html`<p class="hint-box"><strong>How to fix it:</strong> ${e.hint}</p>` : ''}${microsoftIdsHtml(e.microsoft)}`;
}

function fieldError(id: string, error: string | undefined): SafeHtml | string {
  return error ? html`<p class="field-error" id="${id}-error">${error}</p>` : '';
}

function textInput(id: string, label: string, hint: string, value: string, error: string | undefined): SafeHtml {
  return html`<label for="${id}">${label} <span class="hint">${hint}</span></label>
<input id="${id}" name="${id}" type="text" value="${value}" autocomplete="off" spellcheck="false" maxlength="64" placeholder="${GUID_EXAMPLE}"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
${fieldError(id, error)}`;
}

/** the Azure steps: open until SSO is on, then folded away (one click shows them again) */
function setupSteps(v: SsoView): SafeHtml {
  const done = v.settings.enabled;
  return html`<details class="setup"${done ? '' : html` open`}><summary><h2>Set up the app in Azure AD</h2>${done ? html` <span class="hint">done — show the steps and the redirect URIs</span>` : ''}</summary>
<ol class="steps">
<li><strong>Register the Regentra app in Azure AD.</strong> In the Azure portal, go to Azure Active Directory → App registrations → New registration (accounts in this organizational directory only). Under Authentication, add <strong>every</strong> redirect URI below (platform “Web”): Microsoft refuses any address that is not in the list (AADSTS50011) — the sign-in callback and the page people return to after signing out.
${redirectUriFields('redirect-uri', v.redirectUris)}</li>
<li><strong>Add optional claims.</strong> Under Token configuration → Add optional claim → ID, add <code>login_hint</code> (so signing out of Regentra signs out of Microsoft without asking which account) and <code>xms_edov</code> (so an email address can be trusted to link accounts).</li>
<li><strong>Configure API permissions.</strong> Grant the app the following delegated permissions (Microsoft Graph): ${PERMISSIONS.map((p, i) => html`${i > 0 ? ', ' : ''}<code>${p}</code>`)}.</li>
<li><strong>Create a client secret.</strong> Under Certificates &amp; secrets, generate a new client secret. <strong>Copy the secret value immediately — it is only shown once.</strong> Copy its Value, not its Secret ID.</li>
</ol></details>`;
}

/** One copy field per redirect URI, and a note for wildcard hosts (Entra registers no wildcards). */
export function redirectUriFields(idPrefix: string, r: AppRedirectUris): SafeHtml {
  return html`${r.uris.map((uri, i) => copyField(`${idPrefix}-${i}`, `Redirect URI ${i + 1} of ${r.uris.length}`, uri))}${
    r.wildcardHosts.length
      ? html`<p class="hint">Wildcard hosts (${r.wildcardHosts.join(', ')}) cannot be registered: add the callback and signed-out URIs of each real host under them.</p>`
      : ''
  }${
    r.frontChannelLogoutUrl
      ? html`${copyField(`${idPrefix}-frontchannel`, 'Front-channel logout URL (Authentication → Front-channel logout URL)', r.frontChannelLogoutUrl)}<p class="hint">Microsoft loads it when the person signs out of Microsoft elsewhere: their Regentra sessions end too.</p>`
      : ''
  }`;
}

function secretHint(s: StaffSsoSettings): string {
  return s.clientSecretEnc ? `Secret set on ${formatTime(s.secretSetAt)}. Leave empty to keep it.` : 'No secret is set yet.';
}

function detailsForm(v: SsoView): SafeHtml {
  const e = v.fieldErrors;
  return html`<h2>Enter details in Regentra</h2>
<form method="post" action="${ADMIN_PATHS.sso}">
${hiddenFields(v.csrf, v.version)}
${textInput('tenantId', 'Tenant ID', 'Your Azure AD tenant ID (Directory (tenant) ID on the app’s Overview page)', v.form.tenantId, e.tenantId)}
${textInput('clientId', 'Client ID', 'The Application (client) ID from the app registration', v.form.clientId, e.clientId)}
<label for="clientSecret">Client Secret <span class="hint">${secretHint(v.settings)}</span></label>
<input id="clientSecret" name="clientSecret" type="password" value="" autocomplete="new-password" spellcheck="false" maxlength="1024"${e.clientSecret ? html` aria-invalid="true" aria-describedby="clientSecret-error"` : ''}>
${fieldError('clientSecret', e.clientSecret)}
<div class="actions">
<button type="submit" name="action" value="save" class="btn inline">Save</button>
<button type="submit" name="action" value="test" class="btn secondary inline">Test Connection</button>
</div>
<p class="hint">Test Connection checks the values in this form before they are saved: Regentra contacts your tenant, then redirects you to Microsoft login and back. No session is created and nothing is saved.</p>
</form>`;
}

function checkPanel(check: ConnectionCheck | null): SafeHtml | string {
  if (!check || check.ok) return '';
  return html`<div class="panel" role="alert">
<h3>Test Connection failed ${badge('error', 'Failed')}</h3>
<ul class="checks">${check.steps.map((s) => html`<li class="${s.ok ? 'ok' : 'fail'}"><strong>${s.name === 'discovery' ? 'Reach your tenant (discovery)' : 'Sign in as the app (token request)'}</strong>: ${s.detail}</li>`)}</ul>
${check.error ? errorInfo(check.error.hint || check.steps.some((s) => s.name === 'token') ? check.error : { ...check.error, hint: DISCOVERY_HINT }) : ''}
</div>`;
}

function claimsList(claims: TestSignInResult['claims']): SafeHtml | string {
  if (!claims) return '';
  return html`<dl class="kv"><dt>Name</dt><dd>${claims.name}</dd><dt>Email</dt><dd>${claims.email ?? '—'}</dd><dt>Tenant ID (tid)</dt><dd>${claims.tid}</dd><dt>Object ID (oid)</dt><dd>${claims.oid}</dd></dl>`;
}

function resultPanel(result: TestSignInResult | null): SafeHtml | string {
  if (!result) return '';
  if (!result.ok) {
    return html`<div class="panel" role="alert"><h3>Test failed ${badge('error', 'Failed')}</h3>
<p>Microsoft sign-in did not complete.</p>${result.error ? errorInfo(result.error) : ''}</div>`;
  }
  return html`<div class="panel" role="status"><h3>Test passed ${badge('ok', 'Passed')}</h3>
<p>Microsoft signed you in and sent back:</p>${claimsList(result.claims)}
<p class="hint">No session was created: you are still signed in to Regentra as before.</p></div>`;
}

function pendingPanel(v: SsoView): SafeHtml | string {
  const p = v.pending;
  if (!p) return '';
  return html`<div class="panel">
<h3>Tested values not saved yet ${badge('info', 'Passed')}</h3>
<dl class="kv"><dt>Tenant ID</dt><dd>${p.tenantId}</dd><dt>Client ID</dt><dd>${p.clientId}</dd><dt>Client Secret</dt><dd>${p.newSecret ? 'the new secret you entered' : 'the saved secret'}</dd><dt>Tested</dt><dd>${formatTime(p.passedAt)}${p.claims ? ` — signed in as ${p.claims.name}` : ''}</dd></dl>
<form method="post" action="${ADMIN_PATHS.sso}" class="actions">${hiddenFields(v.csrf, v.version)}<button type="submit" name="action" value="save-tested" class="btn inline">Save tested values</button>
<button type="submit" name="action" value="discard-draft" class="btn secondary inline">Discard</button></form>
</div>`;
}

/** "Untested changes from 14:05 — Test / Discard": the form above shows the saved values. */
function untestedBanner(v: SsoView): SafeHtml | string {
  const u = v.untested;
  if (!u) return '';
  const at = formatTime(u.startedAt).slice(11);
  return html`<section class="draft" aria-labelledby="draft-title">
<h3 id="draft-title">Untested changes from ${at}</h3>
<p>You started Test Connection with these values, but the test did not pass. They are not saved: the form below shows the saved settings.</p>
<dl class="kv"><dt>Tenant ID</dt><dd>${u.tenantId}</dd><dt>Client ID</dt><dd>${u.clientId}</dd><dt>Client Secret</dt><dd>${u.newSecret ? 'a new secret you entered' : 'the saved secret'}</dd></dl>
<form method="post" action="${ADMIN_PATHS.sso}" class="actions">${hiddenFields(v.csrf, v.version)}
<button type="submit" name="action" value="test-draft" class="btn inline">Test</button>
<button type="submit" name="action" value="discard-draft" class="btn secondary inline">Discard</button>
</form>
</section>`;
}

function enableSection(v: SsoView): SafeHtml {
  const s = v.settings;
  const state = s.enabled ? badge('ok', 'On') : badge('off', 'Off');
  const tested = v.verified
    ? html`<p>The saved settings passed Test Connection on ${formatTime(s.testedAt)}.</p>`
    : html`<p class="warn-text">The saved settings have not passed Test Connection. SSO can be enabled once they do.</p>`;
  return html`<h2>Enable SSO</h2>
${settingRow({
  title: 'Single sign-on with Microsoft',
  state,
  csrf: v.csrf,
  version: v.version,
  formAction: ADMIN_PATHS.sso,
  action: s.enabled ? 'disable' : 'enable',
  button: s.enabled ? 'Turn off SSO' : 'Enable SSO',
  primary: !s.enabled && v.verified,
  description: html`<p>When on, team members see a <strong>Sign in with Microsoft</strong> button on the login page.</p>${tested}
<p>Enabling SSO does not disable email/password login. Users can sign in with either method unless you enforce SSO-only in the security settings below.</p>`,
})}`;
}

function securitySection(v: SsoView): SafeHtml {
  const s = v.settings;
  return html`<h2>Security settings</h2>
${settingRow({
  title: 'SSO-only login',
  state: s.ssoOnly ? badge('ok', 'On') : badge('off', 'Off'),
  csrf: v.csrf,
  version: v.version,
  formAction: ADMIN_PATHS.sso,
  action: s.ssoOnly ? 'sso-only-off' : 'sso-only-on',
  button: s.ssoOnly ? 'Allow password login again' : 'Enforce SSO-only',
  description: html`<p>When on, Staff password sign-in is refused: everyone signs in with Microsoft. <strong>Turning it on signs out everyone who signed in with a password</strong>, on every server within seconds, including admins; sessions started with Microsoft stay.</p>
<p>To prevent a lockout, SSO-only can only be turned on by an admin who signed in with Microsoft${v.ssoSession ? ' (you did)' : ' — you signed in with a password, so sign out and sign in with Microsoft first'}. If Microsoft sign-in ever breaks, an operator can always turn it off from the command line: <code>${CLI_DISABLE}</code>.</p>`,
})}
${settingRow({
  title: 'Auto-provision',
  state: s.autoProvision ? badge('ok', 'On') : badge('off', 'Off'),
  csrf: v.csrf,
  version: v.version,
  formAction: ADMIN_PATHS.sso,
  action: s.autoProvision ? 'auto-provision-off' : 'auto-provision-on',
  button: s.autoProvision ? 'Turn off' : 'Turn on',
  description: html`<p>Create members of your Azure AD tenant as Staff <strong>members</strong> the first time they sign in with Microsoft. When off, an admin must add each person and link their Microsoft account first. A new Microsoft account never takes over an existing Regentra account that has the same email address.</p>`,
})}
${settingRow({
  title: 'Link accounts by verified email',
  state: s.autoLink ? badge('ok', 'On') : badge('off', 'Off'),
  csrf: v.csrf,
  version: v.version,
  formAction: ADMIN_PATHS.sso,
  action: s.autoLink ? 'auto-link-off' : 'auto-link-on',
  button: s.autoLink ? 'Turn off' : 'Turn on',
  description: html`<p>Link a Microsoft account to the Regentra account with the same email address at its first sign-in, but only when Microsoft confirms that the email’s domain is verified (the <code>xms_edov</code> optional claim, added to the ID token in the app registration’s Token configuration) and only for accounts that are not admins and have no password or authenticator of their own. Every other account is linked by an admin (<code>regentra-gateway users link</code>).</p>`,
})}
<div class="panel">
<h3>SSO and MFA</h3>
<p>When SSO is active, MFA is handled by Azure AD’s conditional access policies — not by Regentra’s built-in TOTP MFA. If Azure AD enforces MFA, users complete the MFA challenge during the Microsoft login flow, and Regentra does not prompt for a second MFA step. Users who sign in with email and password still use Regentra’s built-in MFA.</p>
<p><strong>For the strongest security posture, enforce MFA in Azure AD conditional access policies and enable SSO-only login in Regentra</strong> to eliminate password-based access entirely.</p>
</div>`;
}

export function ssoBody(v: SsoView): SafeHtml {
  const s = v.settings;
  const last = s.updatedAt ? html`<p class="meta-line">Last changed ${formatTime(s.updatedAt)}${s.updatedBy ? ` by ${s.updatedBy}` : ''}.</p>` : '';
  return html`<h1>Single Sign-On ${s.enabled ? badge('ok', 'Enabled') : badge('off', 'Not enabled')}</h1>
<p class="lead">Let your team sign in to Staff with their Microsoft Entra ID (Azure AD) accounts instead of a separate Regentra password.</p>
${noticeBox(v.notice)}
${checkPanel(v.check)}
${resultPanel(v.result)}
${pendingPanel(v)}
${untestedBanner(v)}
${setupSteps(v)}
${detailsForm(v)}
${enableSection(v)}
${securitySection(v)}
${last}`;
}
