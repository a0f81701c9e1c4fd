/**
 * Open the configured store and bring its schema up to date.
 */
import { DEFAULT_POSTGRES_POOL, openPostgresStore } from './postgres.ts';
import type { PostgresPoolOptions } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

export * from './types.ts';
export { createSecretBox, parseKey, SecretBoxError } from './secretbox.ts';
export type { SecretBox, SecretBoxErrorCode, SecretBoxKey } from './secretbox.ts';
export { openSqliteStore } from './sqlite.ts';
export type { SqliteStoreOptions } from './sqlite.ts';
export { DEFAULT_POSTGRES_POOL, openPostgresStore } from './postgres.ts';
export type { PostgresPoolOptions, PostgresStoreOptions } from './postgres.ts';

export type OpenStoreOptions =
  | { readonly driver: 'sqlite'; readonly path: string; readonly now?: () => number }
  | {
    readonly driver: 'postgres';
    readonly url: string;
    readonly schema?: string;
    readonly pool?: Partial<PostgresPoolOptions>;
    readonly now?: () => number;
  };

/** the defaults, with the options the caller did set */
function poolOptions(overrides: Partial<PostgresPoolOptions> = {}): PostgresPoolOptions {
  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...DEFAULT_POSTGRES_POOL, ...Object.fromEntries(defined) };
}

function openUnmigrated(options: OpenStoreOptions): Promise<Store> {
  if (options.driver === 'sqlite') {
    return openSqliteStore({ path: options.path, now: options.now });
  }
  return openPostgresStore({
    url: options.url,
    schema: options.schema,
    pool: poolOptions(options.pool),
    now: options.now,
  });
}

/** Open a store and apply pending migrations; closes it again if migrating fails. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store = await openUnmigrated(options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
