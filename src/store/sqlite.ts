/**
 * SQLite store on node:sqlite (DatabaseSync): one connection per process, WAL
 * journal with synchronous=FULL (an acknowledged write survives a crash or power
 * loss), foreign keys on, and a busy timeout so that other processes holding the
 * write lock are waited for rather than failed.
 *
 * DatabaseSync is synchronous, so each statement (and each transaction, which runs
 * start to finish without yielding) is atomic with respect to this process; BEGIN
 * IMMEDIATE takes the write lock up front so other processes cannot interleave.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import { LRUCache } from 'lru-cache';
import { SCHEMA_MIGRATIONS_DDL, migrationSql, pendingMigrations } from './migrations.ts';
import type { AppliedMigration } from './migrations.ts';
import { createSqlStore } from './sql-store.ts';
import type { Clock, SqlDriver, SqlStatement } from './sql-store.ts';
import type { SqlRow } from './rows.ts';
import { StoreError } from './types.ts';
import type { Store } from './types.ts';

export interface SqliteStoreOptions {
  /** a file path (its directory is created), or ':memory:' */
  readonly path: string;
  /** clock for created/updated times; defaults to Date.now */
  readonly now?: Clock;
  /** how long to wait for another process's write lock; default 5000 ms */
  readonly busyTimeoutMillis?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const STATEMENT_CACHE_SIZE = 256;

// extended result codes (https://sqlite.org/rescode.html)
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
// primary result codes
const UNAVAILABLE_PRIMARY_CODES: ReadonlySet<number> = new Set([
  5, // SQLITE_BUSY
  6, // SQLITE_LOCKED
  7, // SQLITE_NOMEM
  8, // SQLITE_READONLY
  10, // SQLITE_IOERR
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
  15, // SQLITE_PROTOCOL
]);

function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === '';
}

/** node:sqlite errors -> StoreError with a stable code; the original is the cause */
export function mapSqliteError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  if (code === 'ERR_INVALID_STATE') {
    return new StoreError('UNAVAILABLE', 'the SQLite database is closed', { cause: error });
  }
  if (code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number') {
    if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) {
      return new StoreError('DUPLICATE', 'a record with this key already exists', { cause: error });
    }
    if (errcode === SQLITE_CONSTRAINT_FOREIGNKEY) {
      return new StoreError('NOT_FOUND', 'the referenced record does not exist', { cause: error });
    }
    if (UNAVAILABLE_PRIMARY_CODES.has(errcode & 0xff)) {
      return new StoreError('UNAVAILABLE', 'the SQLite database is unavailable', { cause: error });
    }
  }
  return new StoreError('CORRUPT', 'unexpected SQLite error', { cause: error });
}

/** `$1` placeholders (shared SQL) -> `?1` (SQLite numbered parameters) */
function toSqlitePlaceholders(text: string): string {
  return text.replace(/\$(\d+)/g, '?$1');
}

function applyPragmas(db: DatabaseSync, path: string, busyTimeoutMillis: number): void {
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMillis)}`);
  const row = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: unknown } | undefined;
  if (!isMemoryPath(path) && row?.journal_mode !== 'wal') {
    throw new StoreError('UNAVAILABLE', `SQLite refused WAL journal mode (got ${String(row?.journal_mode)})`);
  }
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA foreign_keys = ON');
}

async function createParentDirectory(path: string): Promise<void> {
  if (isMemoryPath(path) || path.startsWith('file:')) return;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the database path from the validated config, chosen by the operator
    await mkdir(dirname(resolve(path)), { recursive: true });
  } catch (error) {
    throw new StoreError('UNAVAILABLE', `cannot create the directory for ${path}`, { cause: error });
  }
}

async function openDatabase(path: string, busyTimeoutMillis: number): Promise<DatabaseSync> {
  await createParentDirectory(path);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { timeout: busyTimeoutMillis, enableForeignKeyConstraints: true });
    applyPragmas(db, path, busyTimeoutMillis);
    return db;
  } catch (error) {
    if (db?.isOpen) db.close();
    throw mapSqliteError(error);
  }
}

function runInTransaction(db: DatabaseSync, work: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    work();
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

function migrateDatabase(db: DatabaseSync, clock: Clock): void {
  runInTransaction(db, () => {
    db.exec(SCHEMA_MIGRATIONS_DDL);
    const applied = db.prepare('SELECT version, name FROM schema_migrations').all() as unknown as AppliedMigration[];
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of pendingMigrations(applied)) {
      db.exec(migrationSql(migration, 'sqlite'));
      record.run(migration.version, migration.name, clock());
    }
  });
}

function createSqliteDriver(db: DatabaseSync, clock: Clock): SqlDriver {
  const statements = new LRUCache<string, StatementSync>({ max: STATEMENT_CACHE_SIZE });
  let closed = false;

  function prepare(text: string): StatementSync {
    if (closed) throw new StoreError('UNAVAILABLE', 'the store is closed');
    let statement = statements.get(text);
    if (statement === undefined) {
      statement = db.prepare(toSqlitePlaceholders(text));
      statements.set(text, statement);
    }
    return statement;
  }

  function sync<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(mapSqliteError(error));
    }
  }

  return Object.freeze({
    kind: 'sqlite' as const,
    query: (statement: SqlStatement) => sync(() => prepare(statement.text).all(...statement.values) as SqlRow[]),
    execute: (statement: SqlStatement) => sync(() => Number(prepare(statement.text).run(...statement.values).changes)),
    transaction: (list: readonly SqlStatement[]) =>
      sync(() =>
        runInTransaction(db, () => {
          for (const statement of list) prepare(statement.text).run(...statement.values);
        }),
      ),
    migrate: () =>
      sync(() => {
        if (closed) throw new StoreError('UNAVAILABLE', 'the store is closed');
        migrateDatabase(db, clock);
      }),
    ping: () => sync(() => void prepare('SELECT 1').get()),
    close: () =>
      sync(() => {
        if (closed) return;
        closed = true;
        statements.clear();
        db.close();
      }),
  });
}

/** Open (but do not migrate) a SQLite store. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const clock = options.now ?? Date.now;
  const db = await openDatabase(options.path, options.busyTimeoutMillis ?? DEFAULT_BUSY_TIMEOUT_MS);
  return createSqlStore(createSqliteDriver(db, clock), clock);
}
