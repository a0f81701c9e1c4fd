/** Settings → Portal → Authentication for one client: the page body (pure template). */
import { html, type SafeHtml } from '../pages/html.ts';
import { ADMIN_PATHS, badge, copyField, formatTime, hiddenFields, noticeBox, type Notice } from '../pages/admin.ts';
import type { PortalAuthSettings, PortalProvisioning } from '../auth/policy.ts';
import { GUID_EXAMPLE } from './forms.ts';
import { describeAadsts, microsoftIdsHtml, type AppRedirectUris } from '../auth/entra/index.ts';
import { redirectUriFields } from './sso-view.ts';

export interface PortalView {
  readonly csrf: string;
  readonly version: number;
  readonly client: { readonly id: string; readonly name: string; readonly hosts: readonly string[] };
  readonly settings: PortalAuthSettings;
  /** Regentra's multi-tenant app is configured (sites.portal.entra) */
  readonly portalApp: boolean;
  /** the values to show in the form (saved, or as posted after an error) */
  readonly form: {
    readonly tenantId: string;
    readonly ssoEnabled: boolean;
    readonly passwordAllowed: boolean;
    readonly provisioning: PortalProvisioning;
    readonly autoLink: boolean;
  };
  readonly tenantError: string | null;
  readonly notice: Notice | null;
  /** the admin consent link, when a tenant is saved and the app is configured */
  readonly consent: { readonly url: string; readonly expiresAt: number } | null;
  /** every redirect URI Regentra's portal app registration must list (all clients' hosts) */
  readonly redirectUris: AppRedirectUris | null;
}

function checkboxRow(name: string, label: string, hint: string, checked: boolean): SafeHtml {
  return html`<div class="toggle"><input type="checkbox" id="${name}" name="${name}" value="on"${checked ? html` checked` : ''}>
<label for="${name}">${label} <span class="hint">${hint}</span></label></div>`;
}

function provisioningChoice(value: PortalProvisioning, label: string, hint: string, current: PortalProvisioning): SafeHtml {
  const id = `provisioning-${value}`;
  return html`<div class="toggle"><input type="radio" id="${id}" name="provisioning" value="${value}"${value === current ? html` checked` : ''}>
<label for="${id}">${label} <span class="hint">${hint}</span></label></div>`;
}

/** Says what was checked: the app's presence (an app-only token) and what the callback reported. */
function consentStatus(s: PortalAuthSettings): SafeHtml {
  const c = s.consent;
  const tenant = html`tenant <code>${c.tenantId ?? ''}</code>`;
  if (c.status === 'granted') {
    if (c.appPresent === true && c.adminConsent === true) {
      return html`<p>${badge('ok', 'Granted')} Regentra’s app is present in ${tenant} (confirmed with Microsoft); consented by an administrator on ${formatTime(c.at)}.</p>`;
    }
    if (c.appPresent === true) return html`<p>${badge('ok', 'Present')} Regentra’s app is present in ${tenant} (confirmed on ${formatTime(c.at)}).</p>`;
    return html`<p>${badge('info', 'Recorded')} Consent was recorded on ${formatTime(c.at)} for ${tenant}, before Regentra kept what Microsoft confirmed. Open the admin consent link again to confirm it.</p>`;
  }
  if (c.status === 'failed') {
    const info = describeAadsts(c.error ?? undefined);
    return html`<div class="alert error" role="status">${badge('error', 'Failed')} Consent failed on ${formatTime(c.at)}: ${c.error ?? 'unknown error'}${info?.hint ? html`<br><strong>How to fix it:</strong> ${info.hint}` : ''}${microsoftIdsHtml(c.microsoft)}</div>`;
  }
  return html`<p>${badge('off', 'Not yet')} The client’s Azure AD admin has not granted consent yet. Until they do, Microsoft refuses sign-in for their users (AADSTS65001).</p>`;
}

function consentSection(v: PortalView): SafeHtml {
  let link: SafeHtml;
  if (!v.portalApp) link = html`<p class="hint">Available once Regentra’s multi-tenant app is configured.</p>`;
  else if (!v.consent) link = html`<p class="hint">Enter and save the client’s tenant ID to get the admin consent link.</p>`;
  else {
    link = html`${copyField('consent-link', 'Admin consent link', v.consent.url)}
<p class="hint">Share this link with the client’s Azure AD administrator. It is for tenant <code>${v.settings.tenantId ?? ''}</code>, can be answered once, and expires on ${formatTime(v.consent.expiresAt)}; reload this page for a fresh one.</p>`;
  }
  return html`<h2>Admin consent</h2>
<p>The client’s Azure AD admin must grant consent for the Regentra portal app in their tenant. Share the admin consent link with them: they sign in, review the permissions and accept, and Microsoft sends them back to Regentra, which records the result here.</p>
${consentStatus(v.settings)}
${link}`;
}

/** Regentra's own multi-tenant app: the redirect URIs its registration must list (folded away: the operator's job). */
function appRegistrationSection(v: PortalView): SafeHtml | string {
  if (!v.portalApp || !v.redirectUris) return '';
  return html`<details class="setup"><summary><h2>Regentra’s portal app registration</h2> <span class="hint">the redirect URIs it must list</span></summary>
<p>Regentra’s multi-tenant app registration (in Regentra’s own tenant, not the client’s) must list <strong>every</strong> URI below under Authentication → Web → Redirect URIs: every portal’s sign-in callback and signed-out page, and the admin-consent callback on the staff host. Microsoft refuses any other address with AADSTS50011 on its own page — the client’s admin could never finish granting consent. Under Token configuration, add the optional ID token claims <code>login_hint</code> and <code>xms_edov</code>.</p>
${redirectUriFields('portal-redirect-uri', v.redirectUris)}
</details>`;
}

/** SSO is the only way in, and nothing shows that Microsoft will let the client's users use it. */
function lockoutWarning(s: PortalAuthSettings): SafeHtml | string {
  if (!s.ssoEnabled || s.passwordAllowed || s.consent.status === 'granted') return '';
  return html`<div class="alert warn" role="status">Password sign-in is off and admin consent has not been recorded: until the client’s Azure AD admin grants consent, nobody can sign in to this portal.</div>`;
}

export function portalBody(v: PortalView): SafeHtml {
  const s = v.settings;
  const f = v.form;
  return html`<h1>Authentication — ${v.client.name} ${s.ssoEnabled ? badge('ok', 'Entra SSO on') : badge('off', 'Entra SSO off')}</h1>
<p class="lead">How ${v.client.name}’s end users sign in to the support portal (${v.client.hosts.join(', ')}).</p>
${noticeBox(v.notice)}
${v.portalApp ? '' : html`<div class="alert warn" role="status">Entra SSO is not available for portals yet: Regentra’s multi-tenant app registration (<code>sites.portal.entra</code>) is not configured on this gateway. Ask your operator to configure it.</div>`}
${lockoutWarning(s)}
<h2>Entra SSO</h2>
<p>Portal SSO lets ${v.client.name}’s users sign in with their own Entra ID credentials. The OAuth flow uses Regentra’s multi-tenant app registration — no additional app registration is needed in the client’s tenant.</p>
<form method="post" action="${ADMIN_PATHS.portal(v.client.id)}">
${hiddenFields(v.csrf, v.version)}
<label for="tenantId">Azure AD tenant ID <span class="hint">The client’s Directory (tenant) ID, a GUID such as ${GUID_EXAMPLE}</span></label>
<input id="tenantId" name="tenantId" type="text" value="${f.tenantId}" autocomplete="off" spellcheck="false" maxlength="64" placeholder="${GUID_EXAMPLE}"${v.tenantError ? html` aria-invalid="true" aria-describedby="tenantId-error"` : ''}>
${v.tenantError ? html`<p class="field-error" id="tenantId-error">${v.tenantError}</p>` : ''}
${checkboxRow('ssoEnabled', 'Enable Entra SSO', '— users see “Sign in with Microsoft” on the portal’s login page', f.ssoEnabled)}
${checkboxRow('passwordAllowed', 'Allow email and password sign-in', '— while Entra SSO is on; when it is off, password sign-in is always available. Turning it off while SSO is on signs out everyone who signed in to this portal with a password, within seconds', f.passwordAllowed)}
<p>Email and password sign-in always asks for a code from an authenticator app (TOTP).</p>
<p class="hint">Users who sign in with Microsoft complete MFA in Azure AD (conditional access), not in Regentra.</p>
<fieldset><legend>Who can sign in with Microsoft</legend>
${provisioningChoice('tenant', 'Anyone in the client’s tenant', '— an account is created at their first sign-in', f.provisioning)}
${provisioningChoice('invited', 'Only people added or invited by an admin', '— anyone else is told to ask for access', f.provisioning)}
</fieldset>
${checkboxRow('autoLink', 'Link accounts by verified email', '— at first Microsoft sign-in, link the portal account with the same email address when Microsoft confirms the email’s domain is verified (xms_edov), and only for accounts without a password or authenticator; every other account is linked by an admin', f.autoLink)}
<div class="actions"><button type="submit" name="action" value="save" class="btn inline">Save</button></div>
</form>
${consentSection(v)}
${appRegistrationSection(v)}
${s.updatedAt ? html`<p class="meta-line">Last changed ${formatTime(s.updatedAt)}${s.updatedBy ? ` by ${s.updatedBy}` : ''}.</p>` : ''}`;
}
