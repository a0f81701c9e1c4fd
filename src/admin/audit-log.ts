/**
 * Audit log: events newest first, in words ("Turned SSO on", "Signed in with Microsoft"),
 * people by email (any realm; the CLI and deleted accounts named as such), filters
 * (realm, person, event, date range, all in the query string), pages of PAGE_SIZE, and
 * a CSV export of the same filter (at most CSV_MAX rows). Details are rendered as
 * key/value pairs; any key that names a secret is masked (events never carry one;
 * belt and braces). CSV cells are quoted as RFC 4180 says, and a cell that a
 * spreadsheet would run as a formula (= + - @, tab, CR) is prefixed with `'`.
 */
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html, type SafeHtml } from '../pages/html.ts';
import { ADMIN_PATHS, badge, formatTime } from '../pages/admin.ts';
import type { AuditFilter, StoredAuditEvent, User } from '../store/types.ts';
import { STAFF_REALM, portalRealm } from '../routing/sites.ts';
import { sendAdmin, portalClients } from './shell.ts';
import { describeEvent, EVENT_TYPES } from './audit-words.ts';
import { GUID } from '../util/security.ts';

const PAGE_SIZE = 50;
const CSV_MAX = 10_000;
const TYPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
const SECRET_KEY = /secret|passw|token|cookie|totp|recovery|^otp$|^code$|^key$/i;
/** what may be said about a secret: that it changed */
const SECRET_STATES: ReadonlySet<string> = new Set(['set', 'replaced', 'removed']);

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function isChange(v: unknown): v is { from: unknown; to: unknown } {
  return v !== null && typeof v === 'object' && 'from' in v && 'to' in v;
}

function hidden(key: string, v: unknown): boolean {
  return SECRET_KEY.test(key) && typeof v !== 'boolean' && !(typeof v === 'string' && SECRET_STATES.has(v));
}

function detailValue(key: string, v: unknown): SafeHtml | string {
  if (hidden(key, v)) return '[hidden]';
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return clip(v);
  // { field: { from, to } } (settings changes) as one line per field
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).some(isChange)) {
    return html`${Object.entries(v).map(([f, c], i) => html`${i > 0 ? html`<br>` : ''}${f}: ${isChange(c) ? `${clip(JSON.stringify(c.from) ?? '')} → ${clip(JSON.stringify(c.to) ?? '')}` : detailValue(f, c)}`)}`;
  }
  return clip(JSON.stringify(v) ?? '');
}

/** the details without `by` (the Actor column says it) and with secret-named keys masked */
function shownDetails(d: Readonly<Record<string, unknown>>): Array<[string, unknown]> {
  return Object.entries(d ?? {})
    .filter(([k]) => k !== 'by')
    .map(([k, v]) => [k, hidden(k, v) ? '[hidden]' : v]);
}

function details(d: Readonly<Record<string, unknown>>): SafeHtml {
  const entries = shownDetails(d);
  if (entries.length === 0) return html`—`;
  return html`<dl class="kv compact">${entries.map(([k, v]) => html`<dt>${k}</dt><dd>${detailValue(k, v)}</dd>`)}</dl>`;
}

function outcomeBadge(o: StoredAuditEvent['outcome']): SafeHtml {
  return o === 'success' ? badge('ok', 'success') : o === 'failure' ? badge('error', 'failure') : badge('off', 'info');
}

function select(id: string, label: string, current: string, options: ReadonlyArray<readonly [string, string]>): SafeHtml {
  return html`<div><label for="${id}">${label}</label><select id="${id}" name="${id}"><option value="">All</option>${options.map(([v, t]) => html`<option value="${v}"${v === current ? html` selected` : ''}>${t}</option>`)}</select></div>`;
}

/** One CSV cell: formula-looking text made inert, then quoted when needed (RFC 4180). */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

interface Filters {
  readonly realm: string;
  readonly type: string;
  /** as typed (an email), or a user id from a link */
  readonly person: string;
  readonly from: string;
  readonly to: string;
  readonly page: number;
}

export function auditRoutes(app: FastifyInstance, core: Core): void {
  const { store, config } = core;
  const lockoutMax = config.auth.lockout.maxFailures;

  function realmChoices(): Array<readonly [string, string]> {
    return [[STAFF_REALM, 'Staff'], ...portalClients(core).map((c) => [portalRealm(c.id), `Portal: ${c.name}`] as const)];
  }

  function parseFilters(request: FastifyRequest): Filters {
    const q = request.query as Record<string, unknown>;
    const s = (name: string, max = 254) => (typeof q[name] === 'string' && q[name].length <= max ? q[name].trim() : '');
    const realm = realmChoices().some(([r]) => r === s('realm')) ? s('realm') : '';
    const type = TYPE.test(s('type', 64)) ? s('type', 64) : '';
    const date = (v: string) => (DATE.test(v) && Number.isFinite(Date.parse(`${v}T00:00:00Z`)) ? v : '');
    const page = /^\d{1,5}$/.test(s('page')) ? Math.max(1, Number(s('page'))) : 1;
    return { realm, type, person: s('person'), from: date(s('from')), to: date(s('to')), page };
  }

  /** the store filter; null when the person matches no account (then nothing matches) */
  function storeFilter(f: Filters, users: readonly User[]): AuditFilter | null {
    let person: string | undefined;
    if (f.person !== '') {
      if (GUID.test(f.person)) person = f.person.toLowerCase();
      else {
        const email = f.person.toLowerCase();
        const match = users.find((u) => u.email === email && (f.realm === '' || u.realm === f.realm)) ?? users.find((u) => u.email === email);
        if (!match) return null;
        person = match.id;
      }
    }
    return {
      ...(f.realm ? { realm: f.realm } : {}),
      ...(f.type ? { type: f.type } : {}),
      ...(person ? { person } : {}),
      ...(f.from ? { since: Date.parse(`${f.from}T00:00:00Z`) } : {}),
      ...(f.to ? { until: Date.parse(`${f.to}T00:00:00Z`) + DAY_MS } : {}),
    };
  }

  function namer(users: readonly User[]): (id: string | null) => string {
    const byId = new Map(users.map((u) => [u.id, u.email]));
    return (id) => {
      if (id === null) return '—';
      if (id === 'cli') return 'Command line (CLI)';
      const email = byId.get(id);
      if (email) return email;
      return GUID.test(id) ? `deleted account ${id.slice(0, 8)}…` : id;
    };
  }

  function query(f: Filters, page?: number): string {
    const p = new URLSearchParams();
    for (const k of ['realm', 'person', 'type', 'from', 'to'] as const) if (f[k]) p.set(k, f[k]);
    if (page && page > 1) p.set('page', String(page));
    const text = p.toString();
    return text ? `?${text}` : '';
  }

  app.get(ADMIN_PATHS.audit, async (request, reply) => {
    const f = parseFilters(request);
    const users = await store.listUsers();
    const filter = storeFilter(f, users);
    const fetched = filter === null ? [] : await store.listAudit({ ...filter, limit: PAGE_SIZE + 1, offset: (f.page - 1) * PAGE_SIZE });
    const events = fetched.slice(0, PAGE_SIZE);
    const more = fetched.length > PAGE_SIZE;
    const who = namer(users);
    const realmName = new Map(realmChoices());
    const types = [...EVENT_TYPES, ...(f.type && !EVENT_TYPES.some(([t]) => t === f.type) ? [[f.type, f.type] as const] : [])];
    const personLabel = GUID.test(f.person) ? who(f.person) : f.person;
    const filtered = Boolean(f.realm || f.type || f.person || f.from || f.to);

    const rows = events.map((e) => {
      const actor = e.actor ?? e.userId;
      return html`<tr><td class="nowrap">${formatTime(e.at)}</td><td><strong>${describeEvent(e, lockoutMax)}</strong><br>${outcomeBadge(e.outcome)} <code>${e.type}</code></td><td>${e.realm === null ? '—' : (realmName.get(e.realm) ?? e.realm)}</td><td>${who(actor)}${e.ip ? html`<br><span class="hint">${e.ip}</span>` : ''}</td><td>${e.userId !== null && e.userId !== actor ? who(e.userId) : '—'}</td><td>${details(e.details)}</td></tr>`;
    });
    const body = html`<h1>Audit log</h1>
<p class="lead">Sign-ins, sign-outs, lockouts, account changes and every settings change, with who made them. Newest first.</p>
<form method="get" action="${ADMIN_PATHS.audit}" class="filters">
${select('realm', 'Realm', f.realm, realmChoices())}
<div><label for="person">Person <span class="hint">(email)</span></label><input id="person" name="person" type="search" value="${personLabel}" maxlength="254" autocomplete="off"></div>
${select('type', 'Event', f.type, types)}
<div><label for="from">From <span class="hint">(UTC)</span></label><input id="from" name="from" type="date" value="${f.from}"></div>
<div><label for="to">To <span class="hint">(UTC, inclusive)</span></label><input id="to" name="to" type="date" value="${f.to}"></div>
<div><button type="submit" class="btn secondary inline">Filter</button></div>
</form>
<p><a href="${ADMIN_PATHS.auditCsv}${query(f)}" download>Download these events as CSV</a>${filtered ? html` · <a href="${ADMIN_PATHS.audit}">Clear the filters</a>` : ''}</p>
${
  events.length === 0
    ? html`<p class="empty">No events${filtered ? ' match these filters' : ' yet'}.</p>`
    : html`<div class="table-wrap" role="region" tabindex="0" aria-label="Audit events"><table class="audit"><caption class="sr-only">Audit events, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Realm</th><th scope="col">Who</th><th scope="col">Account</th><th scope="col">Details</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}
${
  f.page > 1 || more
    ? html`<nav class="pager" aria-label="Pages">
${f.page > 1 ? html`<a href="${ADMIN_PATHS.audit}${query(f, f.page - 1)}" rel="prev">← Newer</a>` : html`<span aria-hidden="true"></span>`}
<span>Page ${String(f.page)}</span>
${more ? html`<a href="${ADMIN_PATHS.audit}${query(f, f.page + 1)}" rel="next">Older →</a>` : html`<span aria-hidden="true"></span>`}
</nav>`
    : ''
}`;
    return sendAdmin(core, request, reply, 200, { title: 'Audit log', crumbs: ['Audit log'], section: 'audit', body });
  });

  app.get(ADMIN_PATHS.auditCsv, async (request: FastifyRequest, reply: FastifyReply) => {
    const f = parseFilters(request);
    const users = await store.listUsers();
    const filter = storeFilter(f, users);
    const who = namer(users);
    const lines = [['time', 'event', 'description', 'outcome', 'realm', 'who', 'account', 'ip', 'details'].join(',')];
    if (filter !== null) {
      for (let offset = 0; offset < CSV_MAX; offset += 1000) {
        const batch = await store.listAudit({ ...filter, limit: 1000, offset });
        for (const e of batch) {
          const actor = e.actor ?? e.userId;
          const cells = [
            new Date(e.at).toISOString(),
            e.type,
            describeEvent(e, lockoutMax),
            e.outcome,
            e.realm ?? '',
            who(actor),
            e.userId !== null && e.userId !== actor ? who(e.userId) : '',
            e.ip ?? '',
            JSON.stringify(Object.fromEntries(shownDetails(e.details))),
          ];
          lines.push(cells.map(csvCell).join(','));
        }
        if (batch.length < 1000) break;
      }
    }
    const day = new Date(core.now()).toISOString().slice(0, 10);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="regentra-audit-${day}.csv"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(`\ufeff${lines.join('\r\n')}\r\n`);
  });
}
