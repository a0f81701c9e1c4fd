/**
 * Templates of Settings → People (./people.ts has the routes and rules): the list with
 * search and pages, one account with its actions, the confirmation of an action, the
 * add-account form, and the page that shows a set-up link once. Pure functions.
 */
import { html, type SafeHtml } from '../pages/html.ts';
import { ADMIN_PATHS, badge, copyField, formatTime, noticeBox, type Notice } from '../pages/admin.ts';
import type { User } from '../store/types.ts';
import { hasTotp } from '../auth/totp/enrolment.ts';

export interface RealmChoice {
  readonly realm: string;
  readonly label: string;
}

/** What the audit log says about how and when a person signs in. */
export interface SignInHistory {
  readonly last: { readonly at: number; readonly method: string } | null;
  /** the methods seen in recent sign-ins ('password', 'sso') */
  readonly used: readonly string[];
}

export interface PersonRow {
  readonly user: User;
  readonly history: SignInHistory;
}

export function methodName(method: string): string {
  return method === 'sso' ? 'Microsoft' : method === 'password' ? 'Password' : method;
}

export function isLocked(u: User, now: number): boolean {
  return u.lockedUntil !== null && u.lockedUntil > now;
}

export function mfaText(u: User): string {
  if (hasTotp(u)) return 'Authenticator on';
  if (u.totpSecretEnc !== null) return 'Set-up started';
  if (u.passwordHash === null) return 'Microsoft (Entra)';
  return 'Not set up';
}

function methods(u: User, h: SignInHistory): SafeHtml {
  const list: SafeHtml[] = [];
  if (u.passwordHash !== null) list.push(badge('info', 'Password'));
  if (u.externalOid !== null) list.push(badge('info', 'Microsoft'));
  if (list.length === 0) list.push(badge('off', 'None yet'));
  const usedOnly = h.used.filter((m) => !(m === 'password' && u.passwordHash !== null) && !(m === 'sso' && u.externalOid !== null));
  return html`${list.map((b, i) => html`${i > 0 ? ' ' : ''}${b}`)}${usedOnly.length ? html`<br><span class="hint">also used: ${usedOnly.map(methodName).join(', ')}</span>` : ''}`;
}

function status(u: User, now: number): SafeHtml {
  if (u.status === 'disabled') return badge('error', 'Disabled');
  if (isLocked(u, now)) return badge('error', 'Locked');
  return badge('ok', 'Active');
}

function lastSignIn(h: SignInHistory): SafeHtml | string {
  return h.last ? html`${formatTime(h.last.at)}<br><span class="hint">${methodName(h.last.method)}</span>` : html`<span class="hint">Never</span>`;
}

export interface ListView {
  readonly realm: string;
  readonly realmLabel: string;
  readonly realms: readonly RealmChoice[];
  readonly query: string;
  readonly rows: readonly PersonRow[];
  readonly page: number;
  readonly pages: number;
  readonly total: number;
  readonly now: number;
  readonly notice: Notice | null;
}

function realmSwitcher(realm: string, realms: readonly RealmChoice[]): SafeHtml {
  return html`<div><label for="realm">Accounts of</label><select id="realm" name="realm">${realms.map((r) => html`<option value="${r.realm}"${r.realm === realm ? html` selected` : ''}>${r.label}</option>`)}</select></div>`;
}

function pager(v: ListView): SafeHtml | string {
  if (v.pages <= 1) return '';
  const href = (p: number) => `${ADMIN_PATHS.people(v.realm)}?${new URLSearchParams({ ...(v.query ? { q: v.query } : {}), page: String(p) }).toString()}`;
  return html`<nav class="pager" aria-label="Pages">
${v.page > 1 ? html`<a href="${href(v.page - 1)}" rel="prev">← Previous</a>` : html`<span aria-hidden="true"></span>`}
<span>Page ${String(v.page)} of ${String(v.pages)}</span>
${v.page < v.pages ? html`<a href="${href(v.page + 1)}" rel="next">Next →</a>` : html`<span aria-hidden="true"></span>`}
</nav>`;
}

export function listBody(v: ListView): SafeHtml {
  const staff = v.realm === 'staff';
  const rows = v.rows.map(
    ({ user: u, history: h }) => html`<tr>
<td><a href="${ADMIN_PATHS.account(v.realm, u.id)}"><strong>${u.displayName}</strong></a><br><span class="hint">${u.emailDisplay}</span></td>
${staff ? html`<td>${u.role === 'admin' ? 'Admin' : 'Member'}</td>` : ''}
<td>${methods(u, h)}</td>
<td>${mfaText(u)}</td>
<td class="nowrap">${lastSignIn(h)}</td>
<td>${status(u, v.now)}</td>
</tr>`,
  );
  return html`<h1>People</h1>
<p class="lead">Accounts that can sign in to ${v.realmLabel}. Add someone and share their one-time set-up link; open an account to disable it, unlock it, reset its authenticator or link a Microsoft account.</p>
${noticeBox(v.notice)}
<form method="get" action="${ADMIN_PATHS.peopleHome}" class="filters">
${realmSwitcher(v.realm, v.realms)}
<div><button type="submit" class="btn secondary inline">Show</button></div>
</form>
<div class="people-tools">
<form method="get" action="${ADMIN_PATHS.people(v.realm)}" class="filters" role="search">
<div class="grow"><label for="q">Search by name or email</label><input id="q" name="q" type="search" value="${v.query}" maxlength="200"></div>
<div><button type="submit" class="btn secondary inline">Search</button></div>
</form>
<a class="btn inline" href="${ADMIN_PATHS.addAccount(v.realm)}">Add a person</a>
</div>
${
  v.rows.length === 0
    ? html`<p class="empty">${v.query ? 'No account matches this search.' : 'No accounts yet.'}</p>`
    : html`<p class="hint">${String(v.total)} account${v.total === 1 ? '' : 's'}${v.query ? ' match' : ''}.</p>
<div class="table-wrap" role="region" tabindex="0" aria-label="Accounts of ${v.realmLabel}"><table class="people"><caption class="sr-only">Accounts of ${v.realmLabel}</caption>
<thead><tr><th scope="col">Person</th>${staff ? html`<th scope="col">Role</th>` : ''}<th scope="col">Sign-in methods</th><th scope="col">Two-step verification</th><th scope="col">Last sign-in</th><th scope="col">Status</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}
${pager(v)}`;
}

/** One action of the account page, as the page offers it. */
export interface ActionOffer {
  readonly action: string;
  readonly title: string;
  readonly description: string;
  readonly button: string;
  readonly danger?: boolean;
  /** extra fields asked for on the account page (Microsoft identity) */
  readonly fields?: SafeHtml;
}

export interface AccountView {
  readonly realm: string;
  readonly realmLabel: string;
  readonly user: User;
  readonly history: SignInHistory;
  readonly recoveryCodesLeft: number;
  readonly setupLinkExpires: number | null;
  readonly now: number;
  readonly csrf: string;
  readonly offers: readonly ActionOffer[];
  readonly notice: Notice | null;
}

export function accountBody(v: AccountView): SafeHtml {
  const u = v.user;
  const url = ADMIN_PATHS.account(v.realm, u.id);
  return html`<p><a href="${ADMIN_PATHS.people(v.realm)}">← People of ${v.realmLabel}</a></p>
<h1>${u.displayName}</h1>
<p class="lead">${u.emailDisplay}</p>
${noticeBox(v.notice)}
<dl class="kv">
<dt>Status</dt><dd>${status(u, v.now)}${isLocked(u, v.now) ? html` <span class="hint">until ${formatTime(u.lockedUntil)}</span>` : ''}</dd>
${v.realm === 'staff' ? html`<dt>Role</dt><dd>${u.role === 'admin' ? 'Admin (can open the settings)' : 'Member'}</dd>` : ''}
<dt>Sign-in methods</dt><dd>${methods(u, v.history)}</dd>
<dt>Microsoft account</dt><dd>${u.externalOid ? html`tenant <code>${u.externalTid ?? ''}</code><br>object <code>${u.externalOid}</code>` : 'Not linked'}</dd>
<dt>Two-step verification</dt><dd>${mfaText(u)}${hasTotp(u) ? html` <span class="hint">(${String(v.recoveryCodesLeft)} recovery code${v.recoveryCodesLeft === 1 ? '' : 's'} left)</span>` : ''}</dd>
<dt>Last sign-in</dt><dd>${v.history.last ? `${formatTime(v.history.last.at)} with ${methodName(v.history.last.method)}` : 'Never'}</dd>
<dt>Set-up link</dt><dd>${v.setupLinkExpires ? `Sent, unused; valid until ${formatTime(v.setupLinkExpires)}` : 'None pending'}</dd>
<dt>Created</dt><dd>${formatTime(u.createdAt)}</dd>
</dl>
<p><a href="${ADMIN_PATHS.audit}?person=${encodeURIComponent(u.id)}">See this person’s activity in the audit log</a></p>
<h2>Actions</h2>
<p class="hint">Each action asks you to confirm it and is recorded in the audit log.</p>
${v.offers.map(
  (o) => html`<div class="setting">
<div class="setting-text"><h3>${o.title}</h3><p>${o.description}</p></div>
<form method="post" action="${url}" class="setting-action${o.fields ? ' with-fields' : ''}">
<input type="hidden" name="csrf" value="${v.csrf}">
${o.fields ?? ''}
<button type="submit" name="action" value="${o.action}" class="btn inline${o.danger ? ' danger' : ' secondary'}">${o.button}</button>
</form>
</div>`,
)}`;
}

export interface ConfirmView {
  readonly realm: string;
  readonly user: User;
  readonly csrf: string;
  readonly action: string;
  readonly question: string;
  readonly consequence: string;
  readonly button: string;
  readonly danger: boolean;
  /** the fields to post again (e.g. tid and oid) */
  readonly carry: Readonly<Record<string, string>>;
}

export function confirmBody(v: ConfirmView): SafeHtml {
  return html`<h1>${v.question}</h1>
<p class="lead">${v.user.displayName} · ${v.user.emailDisplay}</p>
<div class="alert warn" role="status">${v.consequence}</div>
${Object.keys(v.carry).length ? html`<dl class="kv">${Object.entries(v.carry).map(([k, val]) => html`<dt>${k === 'tid' ? 'Tenant ID' : k === 'oid' ? 'Object ID' : k}</dt><dd><code>${val}</code></dd>`)}</dl>` : ''}
<form method="post" action="${ADMIN_PATHS.account(v.realm, v.user.id)}" class="actions">
<input type="hidden" name="csrf" value="${v.csrf}">
<input type="hidden" name="confirm" value="yes">
${Object.entries(v.carry).map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`)}
<button type="submit" name="action" value="${v.action}" class="btn inline${v.danger ? ' danger' : ''}" autofocus>${v.button}</button>
<a class="btn secondary inline" href="${ADMIN_PATHS.account(v.realm, v.user.id)}">Cancel</a>
</form>`;
}

export interface AddView {
  readonly realm: string;
  readonly realmLabel: string;
  readonly csrf: string;
  readonly form: { readonly email: string; readonly name: string; readonly role: string };
  readonly errors: Readonly<Record<string, string>>;
  readonly notice: Notice | null;
}

function fieldError(errors: Readonly<Record<string, string>>, name: string): SafeHtml | string {
  return errors[name] ? html`<p class="field-error" id="${name}-error">${errors[name]}</p>` : '';
}

function invalid(errors: Readonly<Record<string, string>>, name: string): SafeHtml | string {
  return errors[name] ? html` aria-invalid="true" aria-describedby="${name}-error"` : '';
}

export function addBody(v: AddView): SafeHtml {
  return html`<p><a href="${ADMIN_PATHS.people(v.realm)}">← People of ${v.realmLabel}</a></p>
<h1>Add a person</h1>
<p class="lead">You get a one-time set-up link to share with them: with it they choose their own password and set up their authenticator app. The link works once, for 72 hours, on ${v.realmLabel} only. No temporary password is ever made.</p>
${noticeBox(v.notice)}
<form method="post" action="${ADMIN_PATHS.addAccount(v.realm)}">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="off" autocapitalize="none" spellcheck="false" required maxlength="254" value="${v.form.email}"${invalid(v.errors, 'email')}>
${fieldError(v.errors, 'email')}
<label for="name">Name</label>
<input id="name" name="name" type="text" autocomplete="off" required maxlength="200" value="${v.form.name}"${invalid(v.errors, 'name')}>
${fieldError(v.errors, 'name')}
${
  v.realm === 'staff'
    ? html`<label for="role">Role</label>
<select id="role" name="role"><option value="member"${v.form.role !== 'admin' ? html` selected` : ''}>Member</option><option value="admin"${v.form.role === 'admin' ? html` selected` : ''}>Admin (can open the settings)</option></select>`
    : ''
}
<div class="actions"><button type="submit" class="btn inline">Add and make a set-up link</button><a class="btn secondary inline" href="${ADMIN_PATHS.people(v.realm)}">Cancel</a></div>
</form>`;
}

export function linkBody(v: { realm: string; user: User; url: string; expiresAt: number; created: boolean }): SafeHtml {
  return html`<p><a href="${ADMIN_PATHS.account(v.realm, v.user.id)}">← ${v.user.displayName}</a></p>
<h1>${v.created ? 'Account created' : 'New set-up link'}</h1>
<p class="lead">Send this link to <strong>${v.user.emailDisplay}</strong> (by a channel you trust). With it they choose a password and set up their authenticator app.</p>
<div class="alert warn" role="status">This is the only time the link is shown. It works once, until ${formatTime(v.expiresAt)}, and only on this site.${v.created ? '' : ' Any earlier link for this account no longer works; their current password keeps working until they set the new one.'}</div>
${copyField('setup-link', 'Set-up link', v.url)}
<div class="actions"><a class="btn inline" href="${ADMIN_PATHS.account(v.realm, v.user.id)}">Done</a></div>`;
}
