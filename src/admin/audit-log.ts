/**
 * Audit log: the latest 100 events, filtered by type and realm (GET form).
 * Actors are shown by email where known. Details are rendered as key/value pairs;
 * any key that names a secret is masked (events never carry one; belt and braces).
 */
import type { FastifyInstance } from 'fastify';
import { html, type SafeHtml } from '../pages/html.ts';
import { ADMIN_PATHS, badge, formatTime } from '../pages/admin.ts';
import type { StoredAuditEvent } from '../store/types.ts';
import { STAFF_REALM, portalRealm } from '../routing/sites.ts';
import { sendAdmin, portalClients } from './shell.ts';

const LIMIT = 100;
const TYPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SECRET_KEY = /secret|passw|token|cookie|totp|recovery|^otp$|^code$|^key$/i;
/** what may be said about a secret: that it changed */
const SECRET_STATES: ReadonlySet<string> = new Set(['set', 'replaced', 'removed']);
const KNOWN_TYPES = ['signin', 'signin.failure', 'signout', 'lockout', 'settings.change', 'sso.test', 'portal.consent', 'user.disable'] as const;

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function isChange(v: unknown): v is { from: unknown; to: unknown } {
  return v !== null && typeof v === 'object' && 'from' in v && 'to' in v;
}

function detailValue(key: string, v: unknown): SafeHtml | string {
  if (SECRET_KEY.test(key) && typeof v !== 'boolean' && !(typeof v === 'string' && SECRET_STATES.has(v))) return '[hidden]';
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return clip(v);
  // { field: { from, to } } (settings changes) as one line per field
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).some(isChange)) {
    return html`${Object.entries(v).map(([f, c], i) => html`${i > 0 ? html`<br>` : ''}${f}: ${isChange(c) ? `${clip(JSON.stringify(c.from) ?? '')} → ${clip(JSON.stringify(c.to) ?? '')}` : detailValue(f, c)}`)}`;
  }
  return clip(JSON.stringify(v) ?? '');
}

function details(d: Readonly<Record<string, unknown>>): SafeHtml {
  // `by` repeats the Actor column
  const entries = Object.entries(d ?? {}).filter(([k]) => k !== 'by');
  if (entries.length === 0) return html`—`;
  return html`<dl class="kv compact">${entries.map(([k, v]) => html`<dt>${k}</dt><dd>${detailValue(k, v)}</dd>`)}</dl>`;
}

function outcomeBadge(o: StoredAuditEvent['outcome']): SafeHtml {
  return o === 'success' ? badge('ok', 'success') : o === 'failure' ? badge('error', 'failure') : badge('off', 'info');
}

function select(id: string, label: string, current: string, options: ReadonlyArray<readonly [string, string]>): SafeHtml {
  return html`<div><label for="${id}">${label}</label><select id="${id}" name="${id}"><option value="">All</option>${options.map(([v, t]) => html`<option value="${v}"${v === current ? html` selected` : ''}>${t}</option>`)}</select></div>`;
}

export function auditRoutes(app: FastifyInstance): void {
  const { store } = app.gateway;

  app.get(ADMIN_PATHS.audit, async (request, reply) => {
    const q = request.query as { type?: unknown; realm?: unknown };
    const type = typeof q.type === 'string' && TYPE.test(q.type) ? q.type : '';
    const realms: Array<readonly [string, string]> = [[STAFF_REALM, 'Staff'], ...portalClients(app).map((c) => [portalRealm(c.id), `Portal: ${c.name}`] as const)];
    const realm = typeof q.realm === 'string' && realms.some(([r]) => r === q.realm) ? q.realm : '';
    const events = await store.listAudit({ limit: LIMIT, ...(type ? { type } : {}), ...(realm ? { realm } : {}) });
    const staff = new Map((await store.listUsers(STAFF_REALM)).map((u) => [u.id, u.email]));
    const who = (id: string | null) => (id === null ? '—' : (staff.get(id) ?? id));
    const types = [...new Set<string>([...KNOWN_TYPES, ...(type ? [type] : [])])].map((t) => [t, t] as const);

    const rows = events.map((e) => html`<tr><td class="nowrap">${formatTime(e.at)}</td><td><code>${e.type}</code><br>${outcomeBadge(e.outcome)}</td><td>${e.realm ?? '—'}</td><td>${who(e.actor ?? e.userId)}${e.ip ? html`<br><span class="hint">${e.ip}</span>` : ''}</td><td>${details(e.details)}</td></tr>`);
    const body = html`<h1>Audit log</h1>
<p class="lead">The latest ${LIMIT} events: sign-ins, sign-outs, lockouts and every settings change, with who made it.</p>
<form method="get" action="${ADMIN_PATHS.audit}" class="filters">
${select('type', 'Event type', type, types)}
${select('realm', 'Realm', realm, realms)}
<div><button type="submit" class="btn secondary inline">Filter</button></div>
</form>
${events.length === 0 ? html`<p class="empty">No events${type || realm ? ' match these filters' : ' yet'}.</p>`
    : html`<div class="table-wrap"><table class="audit"><caption class="sr-only">Audit events, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Event and outcome</th><th scope="col">Realm</th><th scope="col">Actor</th><th scope="col">Details</th></tr></thead>
<tbody>${rows}</tbody></table></div>`}`;
    return sendAdmin(app, request, reply, 200, { title: 'Audit log', crumbs: ['Audit log'], section: 'audit', body });
  });
}
