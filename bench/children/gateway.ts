/**
 * The gateway as deployed (buildApp, real config loader, SQLite store, metrics),
 * with a signed-in user whose session cookie is handed to the load generator.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { buildApp } from '../../src/app.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import { openStore } from '../../src/store/index.ts';
import { cookieNamesFor } from '../../src/session/plugin.ts';
import type { SessionData } from '../../src/session/types.ts';
import { ready } from '../processes.ts';

export const BENCH_HOST = 'staff.bench.test';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: gateway.ts UPSTREAM_URL');
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
  session: { secure: false },
  sites: { staff: { hosts: [BENCH_HOST], upstream, publicPaths: ['/assets/'] } },
});
const store = await openStore({ driver: 'sqlite', path: ':memory:' });
const app = await buildApp(config, { store, logger: false });
const url = await app.listen({ host: '127.0.0.1', port: 0 });

const user = await store.createUser({ realm: 'staff', email: 'bench@example.com', displayName: 'Bench Mark', role: 'member' });
const t = Date.now();
const session: SessionData = {
  v: 1, sid: randomUUID(), realm: 'staff', host: BENCH_HOST, uid: user.id, email: user.email, name: user.displayName, role: 'member',
  client: null, amr: ['pwd', 'otp'], authTime: Math.floor(t / 1000), iat: t, seen: t, idp: null,
};
const cookie = `${cookieNamesFor(config).session}=${app.sessions.seal(session)}`;
ready({ url, host: BENCH_HOST, cookie }, async () => {
  await app.close();
  await store.close();
});
