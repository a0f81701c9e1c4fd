/**
 * Settings → Single Sign-On → Roles from Microsoft Entra: which app roles (`roles`
 * claim of the staff app) or groups (`groups` claim, object ids) make a staff member a
 * Regentra admin (src/auth/entra/roles.ts). POST /.auth/admin/security/sso/roles with
 * `source` = none | roles | groups and `values` (one per line); CSRF, the version the
 * form was rendered from, audited, answered with a redirect (`?roles=`).
 */
import { SETTINGS } from '../settings/store.ts';
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STAFF_SSO_KEY, type RoleMapping, type StaffSsoSettings } from '../auth/policy.ts';
import { STAFF_REALM } from '../routing/sites.ts';
import { replyError } from '../pages/errors.ts';
import { ADMIN_PATHS, hiddenFields, noticeBox, type Notice } from '../pages/admin.ts';
import { html, type SafeHtml } from '../pages/html.ts';
import { actorOf, csrfValid, csrfError } from './access.ts';
import { auditSettingsChange, CONFLICT_TEXT, formVersion, loadSetting, saveSetting, type Versioned } from './settings.ts';
import { formBody, textField } from './forms.ts';
import { GUID, ROLE_VALUE } from '../auth/entra/claims.ts';

export const ROLES_PATH = `${ADMIN_PATHS.sso}/roles`;
const MAX_VALUES = 50;

const NOTICES: Readonly<Record<string, Notice>> = Object.freeze({
  saved: { kind: 'ok', text: 'Saved. Roles apply at each person’s next Microsoft sign-in; a demoted admin’s other sessions end.' },
  off: { kind: 'ok', text: 'Roles from Microsoft Entra are off: staff roles are set by hand again.' },
  conflict: { kind: 'error', text: CONFLICT_TEXT },
});

/** Parse the form: a mapping, null (off), or the reason it is refused. */
export function parseRoleMapping(source: string | null, valuesText: string | null): { ok: true; value: RoleMapping | null } | { ok: false; error: string } {
  if (source === 'none' || source === null) return { ok: true, value: null };
  if (source !== 'roles' && source !== 'groups') return { ok: false, error: 'Choose app roles, groups, or off.' };
  const values = [
    ...new Set(
      (valuesText ?? '')
        .split(/[\r\n,]+/)
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ];
  if (values.length === 0)
    return { ok: false, error: source === 'roles' ? 'Enter at least one app role value (e.g. Regentra.Admin).' : 'Enter at least one group object ID.' };
  if (values.length > MAX_VALUES) return { ok: false, error: `At most ${MAX_VALUES} values.` };
  const bad = values.find((v) => !(source === 'groups' ? GUID.test(v) : ROLE_VALUE.test(v)));
  if (bad !== undefined) {
    return {
      ok: false,
      error:
        source === 'groups'
          ? `“${bad.slice(0, 80)}” is not a group object ID (a GUID from Azure AD → Groups → the group → Object ID). Group names are not sent in tokens.`
          : `“${bad.slice(0, 80)}” is not an app role value (letters, digits and . _ : / -, no spaces: the “Value” of the app role in the app registration).`,
    };
  }
  return { ok: true, value: { source, values: source === 'groups' ? values.map((v) => v.toLowerCase()) : values } };
}

export function rolesSection(v: {
  csrf: string;
  version: number;
  settings: StaffSsoSettings;
  notice: Notice | null;
  error: string | null;
  form?: { source: string; values: string };
}): SafeHtml {
  const m = v.settings.roleMapping ?? null;
  const source = v.form?.source ?? m?.source ?? 'none';
  const values = v.form?.values ?? (m?.values ?? []).join('\n');
  const option = (value: string, text: string) => html`<option value="${value}"${source === value ? html` selected` : ''}>${text}</option>`;
  const state = m
    ? html`<p>Now: staff members signing in with Microsoft are <strong>admins</strong> when their ID token lists ${m.source === 'roles' ? 'one of these app roles' : 'one of these groups'}, otherwise <strong>members</strong>. Their role cannot be changed by hand.</p>`
    : html`<p>Now: off. Staff roles are set by hand (<code>regentra-gateway users set-role</code>).</p>`;
  return html`<section id="roles" aria-labelledby="roles-title">
<h2 id="roles-title">Roles from Microsoft Entra</h2>
<p>Let Azure decide who is a Regentra admin: define app roles in the staff app registration (App roles, e.g. <code>Regentra.Admin</code>, assigned under Enterprise applications → Users and groups), or use security groups (add the <code>groups</code> claim under Token configuration). The role is applied at each Microsoft sign-in and every change is in the audit log.</p>
${state}
${noticeBox(v.notice)}
<form method="post" action="${ROLES_PATH}" class="panel">
${hiddenFields(v.csrf, v.version)}
<label for="roleSource">Members of these are Regentra admins</label>
<select id="roleSource" name="source">${option('none', 'Off: roles are set by hand')}${option('roles', 'App roles (roles claim)')}${option('groups', 'Groups (groups claim, object IDs)')}</select>
<label for="roleValues">Values <span class="hint">one per line: app role values, or group object IDs</span></label>
<textarea id="roleValues" name="values" rows="4" spellcheck="false"${v.error ? html` aria-invalid="true" aria-describedby="roleValues-error"` : ''}>${values}</textarea>
${v.error ? html`<p class="field-error" id="roleValues-error">${v.error}</p>` : ''}
<p class="hint">With groups, a person in too many groups gets no groups in the token (Microsoft’s “overage”): Regentra then refuses the sign-in rather than guess. App roles have no such limit.</p>
<div class="actions"><button type="submit" class="btn inline">Save roles</button></div>
</form>
</section>`;
}

export function rolesNotice(query: unknown): Notice | null {
  const key = (query as { roles?: unknown } | null)?.roles;
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? (NOTICES[key] as Notice) : null;
}

export function roleRoutes(
  app: FastifyInstance,
  core: Core,
  rerender: (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    x: { error: string; form: { source: string; values: string } },
  ) => Promise<FastifyReply>,
): void {
  app.post(ROLES_PATH, async (request, reply) => {
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    const version = formVersion(body);
    if (version === null) return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'The form is incomplete. Reload the page and try again.' });
    const actor = actorOf(request);
    const current: Versioned<StaffSsoSettings> = await loadSetting(core, SETTINGS.staffSso, STAFF_SSO_KEY);
    const back = (key: string) => reply.code(303).header('cache-control', 'no-store').redirect(`${ADMIN_PATHS.sso}?roles=${key}#roles`);
    if (version !== current.version) return back('conflict');
    const source = textField(body, 'source', 20);
    const valuesText = textField(body, 'values', 10_000);
    const parsed = parseRoleMapping(source, valuesText);
    if (!parsed.ok) return rerender(request, reply, 400, { error: parsed.error, form: { source: source ?? 'none', values: valuesText ?? '' } });
    const next = { ...current.value, roleMapping: parsed.value, updatedBy: actor.user.email, updatedAt: core.now() };
    if (!(await saveSetting(core, STAFF_SSO_KEY, next, current.version))) return back('conflict');
    await auditSettingsChange(core, request, actor, {
      setting: STAFF_SSO_KEY,
      outcome: 'success',
      realm: STAFF_REALM,
      action: 'role-mapping',
      changes: { roleMapping: { from: current.value.roleMapping ?? null, to: parsed.value } },
    });
    return back(parsed.value ? 'saved' : 'off');
  });
}
