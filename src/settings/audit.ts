/**
 * The one shape of a settings change in the audit log, whoever made it (an admin page or
 * the CLI): `settings.change` with
 *
 *   details: { setting, action, changes?: { field: { from, to } }, reason?, client?, by, via }
 *
 * `changes` names fields, never secrets (a secret is only "set" or "replaced"); `reason`
 * says why a change was refused (outcome `failure`); `by` is the admin's email or "cli".
 */
import type { AuditEvent } from '../store/types.ts';

/** per field: `{ from, to }`, or a word or value for what cannot be shown (a secret: "set", "replaced"; a certificate: its thumbprint) */
export type FieldChanges = Readonly<Record<string, unknown>>;

export interface SettingsChange {
  readonly at: number;
  /** the setting's key (e.g. `sso.staff`, `portal.auth.acme`) */
  readonly setting: string;
  readonly realm: string;
  /** what was done (e.g. `save`, `enable`, `role-mapping`, `sso-only off (break glass)`) */
  readonly action?: string;
  readonly outcome: 'success' | 'failure';
  readonly changes?: FieldChanges;
  /** why a change was refused */
  readonly reason?: string;
  /** the portal client, for a client's settings */
  readonly client?: string;
  /** the admin who made it (their account), or null for the CLI */
  readonly user: { readonly id: string; readonly email: string } | null;
  readonly via: 'admin' | 'cli';
  readonly ip: string | null;
}

/** `{ field: { from, to } }` for the listed fields whose values differ. */
export function fieldChanges<T extends object>(before: T, after: T, fields: ReadonlyArray<keyof T & string>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const f of fields) {
    if (before[f] !== after[f]) out[f] = { from: before[f] ?? null, to: after[f] ?? null };
  }
  return out;
}

export function settingsChangeEvent(c: SettingsChange): AuditEvent {
  return {
    at: c.at,
    type: 'settings.change',
    outcome: c.outcome,
    realm: c.realm,
    userId: c.user?.id ?? null,
    actor: c.user?.id ?? 'cli',
    ip: c.ip,
    details: {
      setting: c.setting,
      ...(c.action !== undefined ? { action: c.action } : {}),
      ...(c.changes !== undefined ? { changes: c.changes } : {}),
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      ...(c.client !== undefined ? { client: c.client } : {}),
      by: c.user?.email ?? 'cli',
      via: c.via,
    },
  };
}
