/**
 * PostgreSQL store on a `pg` Pool.
 *
 * - Atomic operations are single conditional statements (see sql-store.ts), so
 *   several replicas on one database never both win.
 * - Migrations run on a dedicated connection under pg_advisory_lock, so replicas
 *   that start at once apply each migration exactly once.
 * - A lost connection never crashes the process (the pool's 'error' event is
 *   handled); calls fail with StoreError 'UNAVAILABLE' meanwhile and recover by
 *   themselves once the server is back, since the pool opens new connections.
 */
import pg from 'pg';
import type { ClientConfig, PoolClient, PoolConfig } from 'pg';
import { SCHEMA_MIGRATIONS_DDL, migrationSql, pendingMigrations } from './migrations.ts';
import type { AppliedMigration } from './migrations.ts';
import { createSqlStore } from './sql-store.ts';
import type { Clock, SqlDriver, SqlStatement } from './sql-store.ts';
import type { SqlRow } from './rows.ts';
import { StoreError } from './types.ts';
import type { Store } from './types.ts';

export interface PostgresPoolOptions {
  readonly max: number;
  readonly idleTimeoutMillis: number;
  /** how long to wait for a connection (new, or a free one from the pool) */
  readonly connectionTimeoutMillis: number;
  /** server-side statement_timeout; 0 disables it */
  readonly statementTimeoutMillis: number;
}

export interface PostgresStoreOptions {
  readonly url: string;
  /** schema to use (search_path); created by migrate() if missing */
  readonly schema?: string;
  readonly pool: PostgresPoolOptions;
  /** clock for created/updated times; defaults to Date.now */
  readonly now?: Clock;
  /** statement timeout while migrating (including the wait for the lock); default 5 minutes */
  readonly migrationTimeoutMillis?: number;
  /** told about connection errors that happen while no call is running */
  readonly onBackgroundError?: (error: StoreError) => void;
}

export const DEFAULT_POSTGRES_POOL: PostgresPoolOptions = Object.freeze({
  max: 10,
  idleTimeoutMillis: 30_000,
  connectionTimeoutMillis: 5_000,
  statementTimeoutMillis: 10_000,
});

const DEFAULT_MIGRATION_TIMEOUT_MS = 300_000;
/** the client-side timeout lets the server-side one fire first */
const CLIENT_TIMEOUT_GRACE_MS = 2_000;
/** first key of the two-key advisory lock: 'RGNT' */
const MIGRATION_LOCK_KEY = 0x52474e54;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const UNAVAILABLE_ERRNO: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);
const UNAVAILABLE_SQLSTATE: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '25006', // read_only_sql_transaction (a standby, e.g. during failover)
]);
// eslint-disable-next-line security/detect-non-literal-regexp -- built from the fixed literal phrases below (no regex metacharacters, no input)
const UNAVAILABLE_MESSAGE = new RegExp(
  [
    'connection terminated',
    'timeout exceeded when trying to connect', // waiting for a pool slot
    'timeout expired', // pg.Client connectionTimeoutMillis
    'query read timeout',
    'connection error and is not queryable',
    'cannot use a pool after calling end',
  ].join('|'),
  'i',
);

function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.has(code)) return true;
    // 08: connection exception, 53: insufficient resources (too many connections, disk full)
    if (/^(08|53)[0-9A-Z]{3}$/.test(code)) return true;
  }
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
}

/** pg errors -> StoreError with a stable code; the original is the cause */
export function mapPostgresError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '23505') {
    return new StoreError('DUPLICATE', 'a record with this key already exists', { cause: error });
  }
  if (code === '23503') {
    return new StoreError('NOT_FOUND', 'the referenced record does not exist', { cause: error });
  }
  if (isUnavailable(error)) {
    return new StoreError('UNAVAILABLE', 'PostgreSQL is unavailable', { cause: error });
  }
  return new StoreError('CORRUPT', 'unexpected PostgreSQL error', { cause: error });
}

function checkSchema(schema: string | undefined): void {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use [a-z_][a-z0-9_]* (at most 63)`);
  }
}

function clientConfig(options: PostgresStoreOptions, statementTimeoutMillis: number): ClientConfig {
  return {
    connectionString: options.url,
    connectionTimeoutMillis: options.pool.connectionTimeoutMillis,
    statement_timeout: statementTimeoutMillis > 0 ? statementTimeoutMillis : false,
    query_timeout: statementTimeoutMillis > 0 ? statementTimeoutMillis + CLIENT_TIMEOUT_GRACE_MS : undefined,
    keepAlive: true,
    application_name: 'regentra-gateway',
    options: options.schema === undefined ? undefined : `-c search_path=${options.schema}`,
  };
}

function poolConfig(options: PostgresStoreOptions): PoolConfig {
  return {
    ...clientConfig(options, options.pool.statementTimeoutMillis),
    max: options.pool.max,
    idleTimeoutMillis: options.pool.idleTimeoutMillis,
  };
}

function ignoreError(): void {}

/** Run statements in one transaction on one pooled connection. */
async function runTransaction(pool: pg.Pool, statements: readonly SqlStatement[]): Promise<void> {
  const client: PoolClient = await pool.connect();
  // a checked-out client has no pool listener: without ours, a lost connection would crash
  client.on('error', ignoreError);
  let discard: Error | undefined;
  try {
    await client.query('BEGIN');
    for (const statement of statements) await client.query(statement.text, [...statement.values]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      discard = rollbackError;
    });
    throw error;
  } finally {
    client.removeListener('error', ignoreError);
    client.release(discard);
  }
}

/**
 * Apply pending migrations on a dedicated connection holding the advisory lock.
 * The connection is closed afterwards, which also releases the lock if anything failed.
 */
async function runMigrations(options: PostgresStoreOptions, clock: Clock): Promise<void> {
  const timeout = options.migrationTimeoutMillis ?? DEFAULT_MIGRATION_TIMEOUT_MS;
  const client = new pg.Client(clientConfig(options, timeout));
  client.on('error', ignoreError);
  const lockKey = [MIGRATION_LOCK_KEY, options.schema ?? ''];
  try {
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', lockKey);
    if (options.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    await client.query(SCHEMA_MIGRATIONS_DDL);
    const { rows } = await client.query<AppliedMigration>('SELECT version, name FROM schema_migrations');
    for (const migration of pendingMigrations(rows)) {
      await client.query('BEGIN');
      await client.query(migrationSql(migration, 'postgres'));
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, clock()]);
      await client.query('COMMIT');
    }
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', lockKey);
  } finally {
    await client.end().catch(ignoreError);
  }
}

function createPostgresDriver(options: PostgresStoreOptions, clock: Clock): SqlDriver {
  const pool = new pg.Pool(poolConfig(options));
  pool.on('error', (error) => options.onBackgroundError?.(mapPostgresError(error)));
  let closed = false;

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreError('UNAVAILABLE', 'the store is closed');
    try {
      return await work();
    } catch (error) {
      throw mapPostgresError(error);
    }
  }

  async function query(statement: SqlStatement): Promise<SqlRow[]> {
    return guarded(async () => (await pool.query<SqlRow>(statement.text, [...statement.values])).rows);
  }

  async function execute(statement: SqlStatement): Promise<number> {
    return guarded(async () => (await pool.query(statement.text, [...statement.values])).rowCount ?? 0);
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await pool.end();
  }

  return Object.freeze({
    kind: 'postgres' as const,
    query,
    execute,
    transaction: (statements: readonly SqlStatement[]) => guarded(() => runTransaction(pool, statements)),
    migrate: () => guarded(() => runMigrations(options, clock)),
    ping: () => guarded(async () => void (await pool.query('SELECT 1'))),
    close,
  });
}

/**
 * Open (but do not migrate) a PostgreSQL store. No connection is made until the
 * first call, so this does not fail when the server is down: migrate() or ping() will.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async so a bad schema name rejects like every other store failure instead of throwing
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  checkSchema(options.schema);
  const clock = options.now ?? Date.now;
  return createSqlStore(createPostgresDriver(options, clock), clock);
}
