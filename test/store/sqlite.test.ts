import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore } from '../../src/store/index.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { StoreError } from '../../src/store/types.ts';
import { storeContract } from './contract.ts';

const dir = await mkdtemp(join(tmpdir(), 'regentra-store-'));
let fileCount = 0;

function freshPath(): string {
  fileCount += 1;
  return join(dir, 'nested', `store-${fileCount}.db`);
}

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

storeContract('sqlite (file)', () => openStore({ driver: 'sqlite', path: freshPath() }));
storeContract('sqlite (:memory:)', () => openStore({ driver: 'sqlite', path: ':memory:' }));

describe('sqlite store', () => {
  let path: string;
  before(() => {
    path = freshPath();
  });

  test('data survives close and reopen', async () => {
    const first = await openStore({ driver: 'sqlite', path });
    const user = await first.createUser({ realm: 'staff', email: 'keep@example.com', displayName: 'Keep' });
    await first.putSetting('keep', { a: 1 });
    assert.equal(await first.consumeOnce('keep-once', Date.now() + 60_000), true);
    await first.close();

    const second = await openStore({ driver: 'sqlite', path });
    assert.deepEqual(await second.getUser('staff', user.id), user);
    assert.deepEqual((await second.getSetting('keep'))?.value, { a: 1 });
    assert.equal(await second.consumeOnce('keep-once', Date.now() + 60_000), false);
    await second.close();
  });

  test('migrations are idempotent and recorded once; the file is in WAL mode', async () => {
    const [a, b] = await Promise.all([openStore({ driver: 'sqlite', path }), openStore({ driver: 'sqlite', path })]);
    await a.migrate();
    await b.migrate();
    await a.close();
    await b.close();

    const db = new DatabaseSync(path);
    try {
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(
        rows.map((row) => ({ ...row })),
        MIGRATIONS.map(({ version, name }) => ({ version, name })),
      );
      assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    } finally {
      db.close();
    }
  });

  test('the now option is the clock for stored times', async () => {
    const now = () => 42;
    const store = await openSqliteStore({ path: ':memory:', now });
    await store.migrate();
    const user = await store.createUser({ realm: 'staff', email: 'clock@example.com', displayName: 'C' });
    assert.equal(user.createdAt, 42);
    assert.equal((await store.putSetting('k', 1)).updatedAt, 42);
    await store.close();
  });

  test('a file that is not a database is rejected as CORRUPT', async () => {
    const garbage = join(dir, 'garbage.db');
    await writeFile(garbage, 'this is not a sqlite database, not at all'.repeat(100));
    await assert.rejects(openStore({ driver: 'sqlite', path: garbage }), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, 'CORRUPT');
      return true;
    });
  });

  test('an unwritable location is UNAVAILABLE', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'a file, not a directory');
    await assert.rejects(openStore({ driver: 'sqlite', path: join(blocker, 'x', 'store.db') }), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, 'UNAVAILABLE');
      return true;
    });
  });
});
