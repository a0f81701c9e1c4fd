/**
 * The Store, written once over a small SQL driver interface that the SQLite and
 * PostgreSQL modules implement. All SQL here is portable between the two engines:
 * placeholders are written `$1`, `$2`… (the SQLite driver rewrites them to `?1`…),
 * and every atomic operation is one conditional statement, or a driver transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Dialect } from './migrations.ts';
import {
  AUDIT_COLUMNS,
  SESSION_COLUMNS,
  SETTING_COLUMNS,
  USER_COLUMNS,
  USER_PATCH_COLUMNS,
  rowToAudit,
  rowToSession,
  rowToSetting,
  rowToUser,
  toJson,
  toNumber,
  toNumberOrNull,
} from './rows.ts';
import type { SqlRow, SqlValue } from './rows.ts';
import { StoreError, normalizeEmail } from './types.ts';
import type {
  AuditEvent,
  AuditFilter,
  FailureResult,
  LockoutPolicy,
  NewUser,
  RealmId,
  SessionRecord,
  Setting,
  Store,
  StoredAuditEvent,
  User,
  UserPatch,
} from './types.ts';

export interface SqlStatement {
  readonly text: string;
  readonly values: readonly SqlValue[];
}

/** What an engine provides. Every method rejects with a StoreError only. */
export interface SqlDriver {
  readonly kind: Dialect;
  /** one statement that yields rows (SELECT, or a write with RETURNING) */
  query(statement: SqlStatement): Promise<SqlRow[]>;
  /** one statement; resolves the number of rows it changed */
  execute(statement: SqlStatement): Promise<number>;
  /** several statements in one transaction: all of them or none */
  transaction(statements: readonly SqlStatement[]): Promise<void>;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Clock = () => number;

const DEFAULT_AUDIT_LIMIT = 100;
const MAX_AUDIT_LIMIT = 1000;

function sql(text: string, ...values: SqlValue[]): SqlStatement {
  return { text, values };
}

function first(rows: readonly SqlRow[]): SqlRow | undefined {
  return rows[0];
}

function userOrNull(rows: readonly SqlRow[]): User | null {
  const row = first(rows);
  return row === undefined ? null : rowToUser(row);
}

function notFound(realm: RealmId, id: string): StoreError {
  return new StoreError('NOT_FOUND', `no user ${id} in realm ${realm}`);
}

function insertUserStatement(input: NewUser, id: string, now: number): SqlStatement {
  return sql(
    `INSERT INTO users (id, realm, email, email_display, display_name, role, status,
       password_hash, external_tid, external_oid, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
     RETURNING ${USER_COLUMNS}`,
    id,
    input.realm,
    normalizeEmail(input.email),
    input.emailDisplay ?? input.email.trim(),
    input.displayName,
    input.role ?? 'member',
    input.status ?? 'active',
    input.passwordHash ?? null,
    input.externalTid ?? null,
    input.externalOid ?? null,
    now,
  );
}

/** the patch as column/value pairs; a new email also sets its display form unless given */
function patchAssignments(patch: UserPatch): Array<[string, SqlValue]> {
  const values: Partial<Record<keyof UserPatch, SqlValue>> = {};
  for (const field of Object.keys(USER_PATCH_COLUMNS) as Array<keyof UserPatch>) {
    const value = patch[field];
    if (value !== undefined) values[field] = value;
  }
  if (patch.email !== undefined) {
    values.email = normalizeEmail(patch.email);
    values.emailDisplay = patch.emailDisplay ?? patch.email.trim();
  }
  return Object.entries(values).map(([field, value]) => [USER_PATCH_COLUMNS[field as keyof UserPatch], value ?? null]);
}

function updateUserStatement(realm: RealmId, id: string, patch: UserPatch, now: number): SqlStatement {
  const assignments = patchAssignments(patch);
  const values: SqlValue[] = [realm, id, now];
  const set = ['updated_at = $3'];
  for (const [column, value] of assignments) {
    values.push(value);
    set.push(`${column} = $${values.length}`);
  }
  return {
    text: `UPDATE users SET ${set.join(', ')} WHERE realm = $1 AND id = $2 RETURNING ${USER_COLUMNS}`,
    values,
  };
}

/**
 * One conditional UPDATE: a failure after the window (or the first one) restarts the
 * count at 1; reaching maxFailures locks until now + lockMs; a lock that has run
 * out is cleared. Concurrent failures each see the previous one's count.
 */
function recordFailureStatement(realm: RealmId, id: string, now: number, policy: LockoutPolicy): SqlStatement {
  const restarts = 'failed_window_start IS NULL OR failed_window_start <= CAST($3 AS BIGINT)';
  const newCount = `CASE WHEN ${restarts} THEN 1 ELSE failed_count + 1 END`;
  return sql(
    `UPDATE users SET
       failed_count = ${newCount},
       failed_window_start = CASE WHEN ${restarts} THEN CAST($4 AS BIGINT) ELSE failed_window_start END,
       locked_until = CASE
         WHEN ${newCount} >= CAST($5 AS INTEGER) THEN CAST($6 AS BIGINT)
         WHEN locked_until > CAST($4 AS BIGINT) THEN locked_until
         ELSE NULL
       END
     WHERE realm = $1 AND id = $2
     RETURNING failed_count, locked_until`,
    realm,
    id,
    now - policy.windowMs,
    now,
    policy.maxFailures,
    now + policy.lockMs,
  );
}

function recordKeyedFailureStatement(key: string, now: number, policy: LockoutPolicy): SqlStatement {
  const restarts = 'failure_counters.failed_window_start <= CAST($2 AS BIGINT)';
  const newCount = `CASE WHEN ${restarts} THEN 1 ELSE failure_counters.failed_count + 1 END`;
  return sql(
    `INSERT INTO failure_counters (key, failed_count, failed_window_start, locked_until, expires_at)
     VALUES ($1, 1, CAST($3 AS BIGINT), CASE WHEN 1 >= CAST($4 AS INTEGER) THEN CAST($5 AS BIGINT) ELSE NULL END, CAST($6 AS BIGINT))
     ON CONFLICT (key) DO UPDATE SET
       failed_count = ${newCount},
       failed_window_start = CASE WHEN ${restarts} THEN CAST($3 AS BIGINT) ELSE failure_counters.failed_window_start END,
       locked_until = CASE
         WHEN ${newCount} >= CAST($4 AS INTEGER) THEN CAST($5 AS BIGINT)
         WHEN failure_counters.locked_until > CAST($3 AS BIGINT) THEN failure_counters.locked_until
         ELSE NULL
       END,
       expires_at = CAST($6 AS BIGINT)
     RETURNING failed_count, locked_until`,
    key,
    now - policy.windowMs,
    now,
    policy.maxFailures,
    now + policy.lockMs,
    now + Math.max(policy.windowMs, policy.lockMs),
  );
}

function putSettingStatement(key: string, json: string, now: number, expectedVersion: number | undefined): SqlStatement {
  const returning = `RETURNING ${SETTING_COLUMNS}`;
  if (expectedVersion === undefined) {
    return sql(
      `INSERT INTO settings (key, value, version, updated_at) VALUES ($1, $2, 1, $3)
       ON CONFLICT (key) DO UPDATE SET
         value = excluded.value, version = settings.version + 1, updated_at = excluded.updated_at
       ${returning}`,
      key,
      json,
      now,
    );
  }
  if (expectedVersion === 0) {
    return sql(
      `INSERT INTO settings (key, value, version, updated_at) VALUES ($1, $2, 1, $3)
       ON CONFLICT (key) DO NOTHING ${returning}`,
      key,
      json,
      now,
    );
  }
  return sql(
    `UPDATE settings SET value = $2, version = version + 1, updated_at = $3
     WHERE key = $1 AND version = $4 ${returning}`,
    key,
    json,
    now,
    expectedVersion,
  );
}

function listAuditStatement(filter: AuditFilter): SqlStatement {
  const values: SqlValue[] = [];
  const where: string[] = [];
  const bind = (v: SqlValue) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (filter.realm !== undefined) where.push(`realm = ${bind(filter.realm)}`);
  if (filter.type !== undefined) where.push(`type = ${bind(filter.type)}`);
  if (filter.person !== undefined) {
    const p = bind(filter.person);
    where.push(`(user_id = ${p} OR actor = ${p})`);
  }
  if (filter.since !== undefined && Number.isSafeInteger(filter.since)) where.push(`at >= ${bind(filter.since)}`);
  if (filter.until !== undefined && Number.isSafeInteger(filter.until)) where.push(`at < ${bind(filter.until)}`);
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_AUDIT_LIMIT), 0), MAX_AUDIT_LIMIT);
  const offset = Math.max(Math.trunc(filter.offset ?? 0), 0);
  const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  const limitParam = bind(Number.isFinite(limit) ? limit : DEFAULT_AUDIT_LIMIT);
  const offsetParam = bind(Number.isSafeInteger(offset) ? offset : 0);
  return {
    text: `SELECT ${AUDIT_COLUMNS} FROM audit ${clause} ORDER BY at DESC, id DESC LIMIT ${limitParam} OFFSET ${offsetParam}`,
    values,
  };
}

export function createSqlStore(driver: SqlDriver, clock: Clock): Store {
  async function createUser(input: NewUser): Promise<User> {
    const rows = await driver.query(insertUserStatement(input, randomUUID(), clock()));
    return rowToUser(first(rows) ?? {});
  }

  async function getUser(realm: RealmId, id: string): Promise<User | null> {
    return userOrNull(await driver.query(sql(`SELECT ${USER_COLUMNS} FROM users WHERE realm = $1 AND id = $2`, realm, id)));
  }

  async function getUserByEmail(realm: RealmId, email: string): Promise<User | null> {
    return userOrNull(await driver.query(sql(`SELECT ${USER_COLUMNS} FROM users WHERE realm = $1 AND email = $2`, realm, normalizeEmail(email))));
  }

  async function getUserByExternalId(realm: RealmId, tid: string, oid: string): Promise<User | null> {
    return userOrNull(
      await driver.query(sql(`SELECT ${USER_COLUMNS} FROM users WHERE realm = $1 AND external_tid = $2 AND external_oid = $3`, realm, tid, oid)),
    );
  }

  async function listUsers(realm?: RealmId): Promise<User[]> {
    const statement =
      realm === undefined
        ? sql(`SELECT ${USER_COLUMNS} FROM users ORDER BY realm, email`)
        : sql(`SELECT ${USER_COLUMNS} FROM users WHERE realm = $1 ORDER BY email`, realm);
    return (await driver.query(statement)).map(rowToUser);
  }

  async function updateUser(realm: RealmId, id: string, patch: UserPatch): Promise<User> {
    const user = userOrNull(await driver.query(updateUserStatement(realm, id, patch, clock())));
    if (user === null) throw notFound(realm, id);
    return user;
  }

  async function deleteUser(realm: RealmId, id: string): Promise<boolean> {
    return (await driver.execute(sql('DELETE FROM users WHERE realm = $1 AND id = $2', realm, id))) > 0;
  }

  async function recordFailure(realm: RealmId, id: string, now: number, policy: LockoutPolicy): Promise<FailureResult> {
    const row = first(await driver.query(recordFailureStatement(realm, id, now, policy)));
    if (row === undefined) throw notFound(realm, id);
    return Object.freeze({
      failures: toNumber(row.failed_count, 'users.failed_count'),
      lockedUntil: toNumberOrNull(row.locked_until, 'users.locked_until'),
    });
  }

  async function clearFailures(realm: RealmId, id: string): Promise<void> {
    await driver.execute(
      sql(
        `UPDATE users SET failed_count = 0, failed_window_start = NULL, locked_until = NULL
       WHERE realm = $1 AND id = $2`,
        realm,
        id,
      ),
    );
  }

  async function recordKeyedFailure(key: string, now: number, policy: LockoutPolicy): Promise<FailureResult> {
    const row = first(await driver.query(recordKeyedFailureStatement(key, now, policy)));
    if (row === undefined) throw new StoreError('CORRUPT', 'failure counter upsert returned no row');
    return Object.freeze({
      failures: toNumber(row.failed_count, 'failure_counters.failed_count'),
      lockedUntil: toNumberOrNull(row.locked_until, 'failure_counters.locked_until'),
    });
  }

  async function keyedLockedUntil(key: string, now: number): Promise<number | null> {
    const row = first(await driver.query(sql('SELECT locked_until FROM failure_counters WHERE key = $1 AND locked_until > $2', key, now)));
    return row === undefined ? null : toNumberOrNull(row.locked_until, 'failure_counters.locked_until');
  }

  async function acceptTotpStep(realm: RealmId, id: string, step: number): Promise<boolean> {
    if (!Number.isSafeInteger(step) || step < 0) return false;
    const rows = await driver.query(
      sql(
        `UPDATE users SET totp_last_step = $3
       WHERE realm = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)
       RETURNING id`,
        realm,
        id,
        step,
      ),
    );
    return rows.length === 1;
  }

  async function setRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void> {
    const inserts = [...new Set(codeHashes)].map((hash) => sql('INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)', userId, hash));
    await driver.transaction([sql('DELETE FROM recovery_codes WHERE user_id = $1', userId), ...inserts]);
  }

  async function consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const rows = await driver.query(
      sql(
        `UPDATE recovery_codes SET used_at = $3
       WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
       RETURNING code_hash`,
        userId,
        codeHash,
        clock(),
      ),
    );
    return rows.length === 1;
  }

  async function countRecoveryCodes(userId: string): Promise<number> {
    const row = first(await driver.query(sql('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', userId)));
    return toNumber(row?.n, 'count(recovery_codes)');
  }

  async function consumeOnce(key: string, expiresAt: number): Promise<boolean> {
    const rows = await driver.query(sql('INSERT INTO once_keys (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key', key, expiresAt));
    return rows.length === 1;
  }

  async function hasOnceKey(key: string, now: number): Promise<boolean> {
    const rows = await driver.query(sql('SELECT key FROM once_keys WHERE key = $1 AND expires_at > $2', key, now));
    return rows.length === 1;
  }

  async function getSetting<T = unknown>(key: string): Promise<Setting<T> | null> {
    const row = first(await driver.query(sql(`SELECT ${SETTING_COLUMNS} FROM settings WHERE key = $1`, key)));
    return row === undefined ? null : rowToSetting<T>(row);
  }

  async function putSetting<T = unknown>(key: string, value: T, expectedVersion?: number): Promise<Setting<T>> {
    const row = first(await driver.query(putSettingStatement(key, toJson(value), clock(), expectedVersion)));
    if (row === undefined) {
      throw new StoreError('CONFLICT', `setting ${key} is not at version ${expectedVersion ?? 'any'}`);
    }
    return rowToSetting<T>(row);
  }

  async function listSettings(prefix: string): Promise<Setting[]> {
    const rows = await driver.query(
      sql(
        `SELECT ${SETTING_COLUMNS} FROM settings
       WHERE substr(key, 1, length(CAST($1 AS TEXT))) = CAST($1 AS TEXT) ORDER BY key`,
        prefix,
      ),
    );
    return rows.map((row) => rowToSetting(row));
  }

  async function appendAudit(event: AuditEvent): Promise<void> {
    await driver.execute(
      sql(
        `INSERT INTO audit (at, type, outcome, realm, user_id, actor, ip, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        event.at,
        event.type,
        event.outcome,
        event.realm ?? null,
        event.userId ?? null,
        event.actor ?? null,
        event.ip ?? null,
        toJson(event.details ?? {}),
      ),
    );
  }

  async function listAudit(filter: AuditFilter = {}): Promise<StoredAuditEvent[]> {
    return (await driver.query(listAuditStatement(filter))).map(rowToAudit);
  }

  async function recordSession(s: SessionRecord): Promise<void> {
    await driver.execute(
      sql(
        `INSERT INTO sessions (sid, realm, user_id, created_at, last_seen, expires_at, user_agent, ip)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (sid) DO UPDATE SET last_seen = excluded.last_seen, user_agent = excluded.user_agent, ip = excluded.ip`,
        s.sid,
        s.realm,
        s.userId,
        s.createdAt,
        s.lastSeen,
        s.expiresAt,
        s.userAgent,
        s.ip,
      ),
    );
  }

  async function listSessions(realm: RealmId, userId: string, now: number): Promise<SessionRecord[]> {
    return (
      await driver.query(
        sql(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE realm = $1 AND user_id = $2 AND expires_at > $3 ORDER BY last_seen DESC, sid`, realm, userId, now),
      )
    ).map(rowToSession);
  }

  async function deleteSession(sid: string): Promise<boolean> {
    return (await driver.execute(sql('DELETE FROM sessions WHERE sid = $1', sid))) > 0;
  }

  async function purgeExpired(now: number): Promise<number> {
    const keys = await driver.execute(sql('DELETE FROM once_keys WHERE expires_at <= $1', now));
    const counters = await driver.execute(sql('DELETE FROM failure_counters WHERE expires_at <= $1', now));
    const sessions = await driver.execute(sql('DELETE FROM sessions WHERE expires_at <= $1', now));
    return keys + counters + sessions;
  }

  return Object.freeze({
    kind: driver.kind,
    migrate: () => driver.migrate(),
    ping: () => driver.ping(),
    close: () => driver.close(),
    createUser,
    getUser,
    getUserByEmail,
    getUserByExternalId,
    listUsers,
    updateUser,
    deleteUser,
    recordFailure,
    clearFailures,
    recordKeyedFailure,
    keyedLockedUntil,
    acceptTotpStep,
    setRecoveryCodes,
    consumeRecoveryCode,
    countRecoveryCodes,
    consumeOnce,
    hasOnceKey,
    getSetting,
    putSetting,
    listSettings,
    appendAudit,
    listAudit,
    recordSession,
    listSessions,
    deleteSession,
    purgeExpired,
  });
}
