/**
 * Open the configured store and bring its schema up to date.
 *
 * The PostgreSQL driver (pg and its dependencies) is loaded only when the
 * configuration asks for it: a SQLite deployment starts without it.
 */
import type { PostgresPoolOptions } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';
import type { Config } from '../config/schema.ts';

export * from './types.ts';
export { createSecretBox, parseKey, SecretBoxError } from './secretbox.ts';
export type { SecretBox, SecretBoxErrorCode, SecretBoxKey } from './secretbox.ts';
export { openSqliteStore } from './sqlite.ts';
export type { SqliteStoreOptions } from './sqlite.ts';
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
function poolOptions(defaults: PostgresPoolOptions, overrides: Partial<PostgresPoolOptions> = {}): PostgresPoolOptions {
  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(defined) };
}

async function openUnmigrated(options: OpenStoreOptions): Promise<Store> {
  if (options.driver === 'sqlite') {
    return openSqliteStore({ path: options.path, now: options.now });
  }
  const { DEFAULT_POSTGRES_POOL, openPostgresStore } = await import('./postgres.ts');
  return openPostgresStore({
    url: options.url,
    schema: options.schema,
    pool: poolOptions(DEFAULT_POSTGRES_POOL, options.pool),
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

/** The store the configuration names (`store.driver`). */
export function openConfiguredStore(config: Config): Promise<Store> {
  const s = config.store;
  return s.driver === 'sqlite'
    ? openStore({ driver: 'sqlite', path: s.path ?? ':memory:' })
    : openStore({ driver: 'postgres', url: s.url, schema: s.schema, pool: s.pool });
}
