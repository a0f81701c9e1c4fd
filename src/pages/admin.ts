/**
 * The staff admin's settings shell and its building blocks: a sidebar (Security →
 * Single Sign-On, People → Staff accounts, Portal → client switcher + Authentication
 * and People, Audit log), notices,
 * copy fields, setting rows with an on/off form. Pure templates; every form posts
 * with the flow's CSRF token and the setting's version (optimistic concurrency).
 */
import { html, type SafeHtml } from './html.ts';
import { sendPage } from './layout.ts';
import type { FastifyReply } from 'fastify';
import { PATHS } from '../routing/reserved.ts';

export const ADMIN_PATHS: {
  readonly home: string;
  readonly sso: string;
  readonly portalHome: string;
  readonly portalSwitch: string;
  readonly portal: (clientId: string) => string;
  readonly audit: string;
  readonly auditCsv: string;
  readonly peopleHome: string;
  readonly people: (realm: string) => string;
  readonly account: (realm: string, uid: string) => string;
  readonly addAccount: (realm: string) => string;
} = Object.freeze({
  home: PATHS.admin,
  sso: `${PATHS.admin}security/sso`,
  portalHome: `${PATHS.admin}portal/`,
  portalSwitch: `${PATHS.admin}portal/switch`,
  portal: (clientId: string): string => `${PATHS.admin}portal/${encodeURIComponent(clientId)}/authentication`,
  audit: `${PATHS.admin}audit`,
  auditCsv: `${PATHS.admin}audit.csv`,
  peopleHome: `${PATHS.admin}people/`,
  /** the people of a realm: `staff` or `portal:<clientId>` */
  people: (realm: string): string =>
    realm.startsWith('portal:') ? `${PATHS.admin}people/portal/${encodeURIComponent(realm.slice('portal:'.length))}` : `${PATHS.admin}people/staff`,
  account: (realm: string, uid: string): string => `${ADMIN_PATHS.people(realm)}/accounts/${encodeURIComponent(uid)}`,
  addAccount: (realm: string): string => `${ADMIN_PATHS.people(realm)}/new`,
});

export type AdminSection = 'sso' | 'portal' | 'audit' | 'people';

export interface Notice {
  readonly kind: 'error' | 'warn' | 'ok';
  readonly text: string | SafeHtml;
}

export interface AdminShell {
  readonly title: string;
  /** breadcrumb, e.g. ['Security', 'Single Sign-On'] */
  readonly crumbs: readonly string[];
  readonly section: AdminSection;
  readonly signedInAs: string;
  readonly clients: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  /** the client selected in the switcher (the page's client, or the one chosen before) */
  readonly clientId?: string | null;
  readonly body: SafeHtml;
  /** origins the page's forms may be redirected to (CSP form-action) */
  readonly formTargets?: readonly string[];
}

/** "2025-03-01 14:05 UTC" */
export function formatTime(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function noticeBox(n: Notice | null | undefined): SafeHtml | string {
  if (!n) return '';
  return html`<div class="alert ${n.kind}" role="${n.kind === 'error' ? 'alert' : 'status'}">${n.text}</div>`;
}

export function hiddenFields(csrf: string, version: number): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="version" value="${String(version)}">`;
}

/** A read-only value with a Copy button (works without script: the field can be selected). */
export function copyField(id: string, label: string, value: string): SafeHtml {
  return html`<label for="${id}">${label}</label>
<div class="copy"><input id="${id}" type="text" readonly value="${value}" spellcheck="false"><button type="button" class="btn secondary inline" data-copy="${id}">Copy</button></div>`;
}

export function badge(kind: 'ok' | 'off' | 'error' | 'info', text: string): SafeHtml {
  return html`<span class="badge${kind === 'info' ? '' : ` ${kind}`}">${text}</span>`;
}

/** One setting with its state and a button that posts `action` (a small form of its own). */
export function settingRow(opts: {
  readonly title: string;
  readonly state: SafeHtml;
  readonly description: SafeHtml;
  readonly action: string;
  readonly formAction: string;
  readonly button: string;
  /** the step's main action (a filled button); otherwise an outlined one */
  readonly primary?: boolean;
  readonly csrf: string;
  readonly version: number;
}): SafeHtml {
  return html`<div class="setting">
<div class="setting-text"><h3>${opts.title} ${opts.state}</h3>${opts.description}</div>
<form method="post" action="${opts.formAction}" class="setting-action">
${hiddenFields(opts.csrf, opts.version)}
<button type="submit" name="action" value="${opts.action}" class="btn inline${opts.primary ? '' : ' secondary'}">${opts.button}</button>
</form>
</div>`;
}

function navLink(href: string, text: string, current: boolean): SafeHtml {
  return current ? html`<a href="${href}" aria-current="page">${text}</a>` : html`<a href="${href}">${text}</a>`;
}

function clientSwitcher(shell: AdminShell): SafeHtml | string {
  if (shell.clients.length === 0) return html`<p class="side-empty">No portal clients are configured.</p>`;
  const selected = shell.clientId ?? shell.clients[0]?.id;
  return html`<form method="get" action="${ADMIN_PATHS.portalSwitch}" class="switcher">
<label for="client-switch">Client</label>
${shell.section === 'people' && shell.clientId ? html`<input type="hidden" name="to" value="people">` : ''}
<select id="client-switch" name="client" data-autosubmit aria-describedby="client-switch-hint">${shell.clients.map((c) => html`<option value="${c.id}"${c.id === selected ? html` selected` : ''}>${c.name}</option>`)}</select>
<button type="submit" class="btn secondary inline">Switch</button>
<p class="hint" id="client-switch-hint">Choosing a client opens its settings.</p>
</form>
${navLink(ADMIN_PATHS.portal(selected ?? ''), 'Authentication', shell.section === 'portal')}
${navLink(ADMIN_PATHS.people(`portal:${selected ?? ''}`), 'People', shell.section === 'people' && Boolean(shell.clientId))}`;
}

function sidebar(shell: AdminShell): SafeHtml {
  return html`<nav class="side" aria-label="Settings">
<p class="side-title">Settings</p>
<p class="side-group">Security</p>
${navLink(ADMIN_PATHS.sso, 'Single Sign-On', shell.section === 'sso')}
<p class="side-group">People</p>
${navLink(ADMIN_PATHS.people('staff'), 'Staff accounts', shell.section === 'people' && !shell.clientId)}
<p class="side-group">Portal</p>
${clientSwitcher(shell)}
<p class="side-group">Activity</p>
${navLink(ADMIN_PATHS.audit, 'Audit log', shell.section === 'audit')}
</nav>`;
}

export function sendAdminPage(reply: FastifyReply, status: number, shell: AdminShell): FastifyReply {
  return sendPage(reply, status, {
    title: shell.title,
    siteName: 'Staff settings',
    wide: true,
    formTargets: shell.formTargets,
    body: html`<div class="topbar"><span>Signed in as <strong>${shell.signedInAs}</strong></span><a href="${PATHS.logout}">Sign out</a></div>
<div class="admin">
${sidebar(shell)}
<div class="admin-main">
<p class="crumbs">Settings${shell.crumbs.map((c) => html` → ${c}`)}</p>
${shell.body}
</div>
</div>`,
  });
}
