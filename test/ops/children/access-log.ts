/**
 * serve() in a process of its own, logging at info to stdout through the default
 * (asynchronous, batched) destination, for test/ops/access-log.test.ts: it makes
 * argv[3] requests, then either stops gracefully (argv[2] = "stop") or dies of an
 * uncaught exception (argv[2] = "crash") in the same turn as 20 more lines.
 */
import { request } from 'undici';
import { loadConfigObject } from '../../../src/config/load.ts';
import { serve } from '../../../src/main.ts';
import { baseRawConfig, HOSTS } from '../../support/gateway.ts';
import { startUpstream } from '../../support/upstream.ts';

const mode = process.argv[2];
const count = Number(process.argv[3] ?? 50);
const upstream = await startUpstream('staff-app');
const { config } = loadConfigObject({ ...baseRawConfig(upstream.url, upstream.url), log: { level: 'info' } });
const running = await serve(config, { installSignalHandlers: false });

// sequential requests: each answered response has had its access-log line logged
for (let i = 0; i < count; i++) {
  const res = await request(`${running.url}/assets/line-${i}`, { headers: { host: HOSTS.staff } });
  await res.body.dump();
}
if (mode === 'crash') {
  // lines logged in the same turn as the crash are still pending in the destination
  for (let i = 0; i < 20; i++) running.app.log.warn({ i }, 'pending at the crash');
  throw new Error('deliberate crash with log lines still pending');
}
await running.stop();
await upstream.close();
