/**
 * Row mapping shared by both engines: database rows (snake_case, BIGINT that the
 * PostgreSQL driver returns as strings, JSON as TEXT) to the Store's objects, and back.
 */
import { StoreError } from './types.ts';
import type { SessionRecord, Setting, StoredAuditEvent, User, UserPatch, UserRole, UserStatus } from './types.ts';

export type SqlValue = string | number | null;
export type SqlRow = Readonly<Record<string, unknown>>;

export const USER_COLUMNS = [
  'id',
  'realm',
  'email',
  'email_display',
  'display_name',
  'role',
  'status',
  'password_hash',
  'totp_secret_enc',
  'totp_enrolled_at',
  'totp_last_step',
  'sessions_valid_after',
  'external_tid',
  'external_oid',
  'failed_count',
  'failed_window_start',
  'locked_until',
  'created_at',
  'updated_at',
].join(', ');

export const SETTING_COLUMNS = 'key, value, version, updated_at';
export const AUDIT_COLUMNS = 'id, at, type, outcome, realm, user_id, actor, ip, details';

/** UserPatch field -> column; the only columns updateUser may write */
export const USER_PATCH_COLUMNS: { readonly [K in keyof Required<UserPatch>]: string } = Object.freeze({
  email: 'email',
  emailDisplay: 'email_display',
  displayName: 'display_name',
  role: 'role',
  status: 'status',
  passwordHash: 'password_hash',
  totpSecretEnc: 'totp_secret_enc',
  totpEnrolledAt: 'totp_enrolled_at',
  totpLastStep: 'totp_last_step',
  sessionsValidAfter: 'sessions_valid_after',
  externalTid: 'external_tid',
  externalOid: 'external_oid',
});

const ROLES: ReadonlySet<string> = new Set<UserRole>(['admin', 'member']);
const STATUSES: ReadonlySet<string> = new Set<UserStatus>(['active', 'disabled']);
const OUTCOMES: ReadonlySet<string> = new Set(['success', 'failure', 'info']);

function corrupt(what: string, cause?: unknown): StoreError {
  return new StoreError('CORRUPT', `unexpected value in ${what}`, { cause });
}

/** INTEGER/BIGINT as a JS number (pg returns int8 as a string) */
export function toNumber(value: unknown, what: string): number {
  const number = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw corrupt(what);
  return number;
}

export function toNumberOrNull(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : toNumber(value, what);
}

function toText(value: unknown, what: string): string {
  if (typeof value !== 'string') throw corrupt(what);
  return value;
}

function toTextOrNull(value: unknown, what: string): string | null {
  return value === null || value === undefined ? null : toText(value, what);
}

function oneOf<T extends string>(allowed: ReadonlySet<string>, value: unknown, what: string): T {
  if (typeof value !== 'string' || !allowed.has(value)) throw corrupt(what);
  return value as T;
}

export function parseJson(text: unknown, what: string): unknown {
  try {
    return JSON.parse(toText(text, what));
  } catch (error) {
    throw error instanceof StoreError ? error : corrupt(what, error);
  }
}

export function toJson(value: unknown): string {
  // JSON has no `undefined`: store it as null rather than failing the NOT NULL column
  return JSON.stringify(value ?? null);
}

export function rowToUser(row: SqlRow): User {
  return Object.freeze({
    id: toText(row.id, 'users.id'),
    realm: toText(row.realm, 'users.realm'),
    email: toText(row.email, 'users.email'),
    emailDisplay: toText(row.email_display, 'users.email_display'),
    displayName: toText(row.display_name, 'users.display_name'),
    role: oneOf<UserRole>(ROLES, row.role, 'users.role'),
    status: oneOf<UserStatus>(STATUSES, row.status, 'users.status'),
    passwordHash: toTextOrNull(row.password_hash, 'users.password_hash'),
    totpSecretEnc: toTextOrNull(row.totp_secret_enc, 'users.totp_secret_enc'),
    totpEnrolledAt: toNumberOrNull(row.totp_enrolled_at, 'users.totp_enrolled_at'),
    totpLastStep: toNumberOrNull(row.totp_last_step, 'users.totp_last_step'),
    sessionsValidAfter: toNumber(row.sessions_valid_after, 'users.sessions_valid_after'),
    externalTid: toTextOrNull(row.external_tid, 'users.external_tid'),
    externalOid: toTextOrNull(row.external_oid, 'users.external_oid'),
    failedCount: toNumber(row.failed_count, 'users.failed_count'),
    failedWindowStart: toNumberOrNull(row.failed_window_start, 'users.failed_window_start'),
    lockedUntil: toNumberOrNull(row.locked_until, 'users.locked_until'),
    createdAt: toNumber(row.created_at, 'users.created_at'),
    updatedAt: toNumber(row.updated_at, 'users.updated_at'),
  });
}

export function rowToSetting<T>(row: SqlRow): Setting<T> {
  return Object.freeze({
    key: toText(row.key, 'settings.key'),
    value: parseJson(row.value, 'settings.value') as T,
    version: toNumber(row.version, 'settings.version'),
    updatedAt: toNumber(row.updated_at, 'settings.updated_at'),
  });
}

export function rowToAudit(row: SqlRow): StoredAuditEvent {
  const details = parseJson(row.details, 'audit.details');
  if (details === null || typeof details !== 'object' || Array.isArray(details)) throw corrupt('audit.details');
  return Object.freeze({
    id: toNumber(row.id, 'audit.id'),
    at: toNumber(row.at, 'audit.at'),
    type: toText(row.type, 'audit.type'),
    outcome: oneOf<StoredAuditEvent['outcome']>(OUTCOMES, row.outcome, 'audit.outcome'),
    realm: toTextOrNull(row.realm, 'audit.realm'),
    userId: toTextOrNull(row.user_id, 'audit.user_id'),
    actor: toTextOrNull(row.actor, 'audit.actor'),
    ip: toTextOrNull(row.ip, 'audit.ip'),
    details: details as Record<string, unknown>,
  });
}

export const SESSION_COLUMNS = 'sid, realm, user_id, created_at, last_seen, expires_at, user_agent, ip';

export function rowToSession(row: SqlRow): SessionRecord {
  return Object.freeze({
    sid: toText(row.sid, 'sessions.sid'),
    realm: toText(row.realm, 'sessions.realm'),
    userId: toText(row.user_id, 'sessions.user_id'),
    createdAt: toNumber(row.created_at, 'sessions.created_at'),
    lastSeen: toNumber(row.last_seen, 'sessions.last_seen'),
    expiresAt: toNumber(row.expires_at, 'sessions.expires_at'),
    userAgent: toTextOrNull(row.user_agent, 'sessions.user_agent'),
    ip: toTextOrNull(row.ip, 'sessions.ip'),
  });
}
