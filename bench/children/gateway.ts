/**
 * The gateway as deployed: serve() (switchboard, ops listener, metrics) with the
 * real config loader and a SQLite file store, `--workers N` processes, and a
 * signed-in user. The load generator asks for a fresh session cookie before each
 * run ("cookie"), or once for a whole scenario for a cookie already older than the
 * session's touch interval (60 s) that it then replays for minutes ("old-cookie":
 * last seen 90 s ago; every response carries the refreshed cookie, which a load
 * generator ignores, as a script or a burst of parallel requests does: issue #17).
 * "cookies N" seals N distinct sessions (the memory row).
 *
 *   gateway.ts UPSTREAM_URL [--workers N] [--log-level warn]
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../../src/app.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import { serve } from '../../src/main.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { openStore } from '../../src/store/index.ts';
import { cookieNamesFor } from '../../src/session/plugin.ts';
import type { SessionData } from '../../src/session/types.ts';
import { ready } from '../processes.ts';
import { sealSession } from '../../dev/seed.ts';

export const BENCH_HOST = 'staff.bench.test';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { workers: { type: 'string', default: '1' }, 'log-level': { type: 'string', default: 'warn' } },
});
const upstream = positionals[0];
if (!upstream) throw new Error('usage: gateway.ts UPSTREAM_URL [--workers N]');
const dir = mkdtempSync(join(tmpdir(), 'regentra-bench-'));
const key = () => randomBytes(32).toString('base64');
const { config } = loadConfigObject({
  server: { host: '127.0.0.1', port: 0, publicScheme: 'http', workers: Number(values.workers) },
  ops: { host: '127.0.0.1', port: 0 },
  log: { level: values['log-level'] },
  store: { driver: 'sqlite', path: join(dir, 'bench.db') },
  keys: {
    session: [key()],
    signing: [{ privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }],
    encryption: [{ id: 'k1', key: key() }],
  },
  session: { secure: false },
  sites: { staff: { hosts: [BENCH_HOST], upstream, publicPaths: ['/assets/'] } },
});

// the signed-in user, and an app that never listens, only to seal session cookies
const store = await openStore({ driver: 'sqlite', path: join(dir, 'bench.db') });
const user = await store.createUser({ realm: 'staff', email: 'bench@example.com', displayName: 'Bench Mark', role: 'member' });
const sealerMetrics = createMetrics({ defaultMetrics: false });
sealerMetrics.close();
const sealer = await buildApp(config, { store, logger: false, metrics: sealerMetrics });
await sealer.ready();
const sid = randomUUID();
function cookie(ageMs = 0, id = sid): string {
  const t = Date.now() - ageMs;
  const session: SessionData = {
    v: 1,
    sid: id,
    realm: 'staff',
    host: BENCH_HOST,
    uid: user.id,
    email: user.email,
    name: user.displayName,
    role: 'member',
    client: null,
    amr: ['pwd', 'otp'],
    authTime: Math.floor(t / 1000),
    iat: t,
    seen: t,
    idp: null,
  };
  return `${cookieNamesFor(config).session}=${sealSession(sealer, session)}`;
}

const running = await serve(config, { installSignalHandlers: false });
ready(
  { url: running.url, opsUrl: running.opsUrl, host: BENCH_HOST, cookie: cookie() },
  async () => {
    await running.stop();
    await sealer.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  },
  (question) => {
    if (question === 'cookie') return cookie();
    if (question === 'old-cookie') return cookie(90_000);
    const many = /^cookies (\d+)$/.exec(question);
    return many ? Array.from({ length: Number(many[1]) }, () => cookie(0, randomUUID())) : undefined;
  },
);
