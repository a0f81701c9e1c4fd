/**
 * A gateway in a process of its own, for the load test: its heap is measured without
 * the load generator's. Started with --expose-gc; argv[2] is the upstream URL,
 * argv[3] how many signed-in users to create. Reports `{ ready: { url, host, cookies } }`
 * over IPC; answers `{ heap: id }` with `{ heap: id, used, rss }` after a full GC.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { buildApp } from '../../../src/app.ts';
import { loadConfigObject } from '../../../src/config/load.ts';
import { openStore } from '../../../src/store/index.ts';
import { cookieNamesFor } from '../../../src/session/plugin.ts';
import { sealSession } from '../../../dev/seed.ts';
import { staffSession } from '../../support/session.ts';

const HOST = 'staff.load.test';
const upstream = process.argv[2];
const users = Number(process.argv[3] ?? 100);
if (!upstream) throw new Error('usage: gateway.ts UPSTREAM_URL [USERS]');

const key = () => randomBytes(32).toString('base64');
const { config } = loadConfigObject({
  server: { host: '127.0.0.1', port: 0, publicScheme: 'http' },
  log: { level: 'silent' },
  store: { driver: 'sqlite', path: ':memory:' },
  keys: {
    session: [key()],
    signing: [{ privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }],
    encryption: [{ id: 'k1', key: key() }],
  },
  session: { secure: false, revocationCheckSeconds: 1, idleTimeoutSeconds: 7_200 },
  sites: { staff: { hosts: [HOST], upstream, publicPaths: ['/assets/'] } },
});
const store = await openStore({ driver: 'sqlite', path: ':memory:' });
const app = await buildApp(config, { store, logger: false });
const url = await app.listen({ host: '127.0.0.1', port: 0 });

const cookies: string[] = [];
for (let i = 0; i < users; i++) {
  const user = await store.createUser({ realm: 'staff', email: `load-${i}@example.com`, displayName: `Load ${i}`, role: 'member' });
  const session = staffSession(user, Date.now(), { host: HOST, name: user.displayName });

  cookies.push(`${cookieNamesFor(config).session}=${sealSession(app, session)}`);
}

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (msg: { heap?: number }) => {
  if (msg.heap === undefined) return;
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  process.send?.({ heap: msg.heap, used: m.heapUsed, rss: m.rss, gc: gc !== undefined });
});
process.send?.({ ready: { url, host: HOST, cookies } });
const stop = () =>
  void app
    .close()
    .then(() => store.close())
    .finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('disconnect', stop);
