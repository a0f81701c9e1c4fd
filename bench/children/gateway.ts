/**
 * The gateway as deployed: serve() (switchboard, ops listener, metrics) with the
 * real config loader and a SQLite file store, `--workers N` processes, and a
 * signed-in user. The load generator asks for a fresh session cookie before each
 * run ("cookie"), or once for a whole scenario for a cookie already older than the
 * session's touch interval (60 s) that it then replays for minutes ("old-cookie":
 * last seen 90 s ago; every response carries the refreshed cookie, which a load
 * generator ignores, as a script or a burst of parallel requests does: issue #17).
 * "cookies N" seals N distinct sessions (the memory row); "entra-cookie" the session of an
 * Entra sign-in (its Entra session id is reviewed on every request, as the password session's
 * own id is).
 *
 *   gateway.ts UPSTREAM_URL [--workers N] [--log-level warn]
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildApp } from '../../src/app.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import { serve } from '../../src/main.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { openStore } from '../../src/store/index.ts';
import { cookieNamesFor } from '../../src/session/plugin.ts';
import type { SessionData } from '../../src/session/types.ts';
import { ready } from '../processes.ts';
import { sealSession } from '../../dev/seed.ts';
import { createSecretBox } from '../../src/store/secretbox.ts';
import { mustDecodeKey32 } from '../../src/config/keys.ts';
import { sealStaffSecret } from '../../src/auth/entra/secrets.ts';
import { DEFAULT_STAFF_SSO, STAFF_SSO_KEY } from '../../src/settings/types.ts';

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
// staff SSO configured (as the settings page leaves it), so that an Entra sign-in's session is valid
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const secretBox = createSecretBox(config.keys.encryption.map((k) => ({ id: k.id, key: mustDecodeKey32(k.key) })));
await store.putSetting(STAFF_SSO_KEY, {
  ...DEFAULT_STAFF_SSO,
  tenantId: TENANT,
  clientId: randomUUID(),
  clientSecretEnc: sealStaffSecret({ secretBox }, randomBytes(24).toString('base64url')),
  enabled: true,
});
const sealerMetrics = createMetrics({ defaultMetrics: false });
sealerMetrics.close();
const sealer = await buildApp(config, { store, logger: false, metrics: sealerMetrics });
await sealer.ready();
const sid = randomUUID();
/** the Entra sign-in's gateway session is another session than the password one */
const entraSid = randomUUID();
/** an Entra sign-in's session as src/auth/entra/signin.ts starts it: amr sso, Microsoft's amr, the tenant, object and Entra session ids */
const entra = {
  client: null,
  amr: Object.freeze(['sso']),
  idpAmr: Object.freeze(['pwd', 'mfa']),
  idp: Object.freeze({ tid: TENANT, oid: randomUUID(), loginHint: 'O.CiQ3MmY5ODhiZi04NmYx', sid: randomUUID() }),
};
function cookie(ageMs = 0, id = sid, sso = false): string {
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
    ...(sso ? entra : {}),
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
    if (question === 'entra-cookie') return cookie(0, entraSid, true);
    if (question === 'gc') {
      // a full collection, for the memory row's figure without the garbage of its load (bench/memory.ts):
      // answers the JavaScript heap then in use, what the sessions retain, apart from V8's and malloc's slack
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
      return process.memoryUsage().heapUsed;
    }
    const many = /^cookies (\d+)$/.exec(question);
    return many ? Array.from({ length: Number(many[1]) }, () => cookie(0, randomUUID())) : undefined;
  },
);
