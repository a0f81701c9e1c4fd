/**
 * Versioned schema migrations, shared by the SQLite and PostgreSQL stores.
 *
 * Rules:
 * - never edit or reorder a released migration: add a new one with the next version;
 * - keep the SQL portable where the two engines agree, and split it per dialect
 *   where they do not (auto-increment keys, mostly);
 * - times are epoch milliseconds in BIGINT columns (INTEGER affinity in SQLite);
 * - JSON is stored as TEXT so both engines hold the same bytes.
 *
 * Each driver applies the pending migrations inside its own lock (BEGIN IMMEDIATE in
 * SQLite, pg_advisory_lock in PostgreSQL) and records each one in schema_migrations.
 */
import { StoreError } from './types.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** one portable script, or one script per dialect */
  readonly sql: string | { readonly sqlite: string; readonly postgres: string };
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
}

export const SCHEMA_MIGRATIONS_DDL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL
);
`;

const USERS_DDL = `
CREATE TABLE users (
  id                   TEXT PRIMARY KEY,
  realm                TEXT NOT NULL,
  email                TEXT NOT NULL,
  email_display        TEXT NOT NULL,
  display_name         TEXT NOT NULL,
  role                 TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  status               TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  password_hash        TEXT,
  totp_secret_enc      TEXT,
  totp_enrolled_at     BIGINT,
  totp_last_step       BIGINT,
  sessions_valid_after BIGINT NOT NULL DEFAULT 0,
  external_tid         TEXT,
  external_oid         TEXT,
  failed_count         INTEGER NOT NULL DEFAULT 0,
  failed_window_start  BIGINT,
  locked_until         BIGINT,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  UNIQUE (realm, email)
);
CREATE UNIQUE INDEX users_external_id ON users (realm, external_tid, external_oid)
  WHERE external_tid IS NOT NULL AND external_oid IS NOT NULL;

CREATE TABLE recovery_codes (
  user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at   BIGINT,
  PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE once_keys (
  key        TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX once_keys_expires_at ON once_keys (expires_at);

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at BIGINT NOT NULL
);
`;

/** everything after the id column of the audit table (same in both dialects) */
const AUDIT_COLUMNS = `
  at      BIGINT NOT NULL,
  type    TEXT NOT NULL,
  outcome TEXT NOT NULL,
  realm   TEXT,
  user_id TEXT,
  actor   TEXT,
  ip      TEXT,
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_realm_at ON audit (realm, at);
CREATE INDEX audit_at ON audit (at);
`;

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    sql: {
      sqlite: `${USERS_DDL}\nCREATE TABLE audit (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,${AUDIT_COLUMNS}`,
      postgres: `${USERS_DDL}\nCREATE TABLE audit (\n  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,${AUDIT_COLUMNS}`,
    },
  },
  {
    version: 2,
    name: 'failure counters for sign-in names without an account',
    sql: `
CREATE TABLE failure_counters (
  key                 TEXT PRIMARY KEY,
  failed_count        INTEGER NOT NULL,
  failed_window_start BIGINT NOT NULL,
  locked_until        BIGINT,
  expires_at          BIGINT NOT NULL
);
CREATE INDEX failure_counters_expires_at ON failure_counters (expires_at);
`,
  },
  {
    version: 3,
    name: 'session registry for the account page',
    sql: `
CREATE TABLE sessions (
  sid        TEXT PRIMARY KEY,
  realm      TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  user_agent TEXT,
  ip         TEXT
);
CREATE INDEX sessions_user ON sessions (realm, user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
`,
  },
]);

export function migrationSql(migration: Migration, dialect: Dialect): string {
  return typeof migration.sql === 'string' ? migration.sql : migration.sql[dialect];
}

/**
 * The migrations still to apply, in order. Rejects a database whose history does
 * not match this code (a released migration renamed or replaced). Versions newer
 * than this code knows are left alone, so an older replica can still start during
 * a rolling deploy.
 */
export function pendingMigrations(applied: readonly AppliedMigration[], migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  assertOrdered(migrations);
  const appliedByVersion = new Map(applied.map((row) => [Number(row.version), row.name]));
  const pending: Migration[] = [];
  for (const migration of migrations) {
    const name = appliedByVersion.get(migration.version);
    if (name === undefined) {
      pending.push(migration);
    } else if (name !== migration.name) {
      throw new StoreError('CORRUPT', `migration ${migration.version} is recorded as "${name}" but this code calls it "${migration.name}"`);
    }
  }
  return pending;
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StoreError('CORRUPT', `migration versions must be 1..n in order (found ${migration.version} at ${index})`);
    }
  });
}
