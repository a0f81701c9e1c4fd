/**
 * A cluster worker's entry (cluster.ts starts it with `exec` pointing here): wait for the
 * primary's configuration, serve it with this process's own listener (no ops listener:
 * the primary has it), answer reloads and stops, report the metrics. Kept apart from
 * cluster.ts so that the primary never imports serve.ts (which imports cluster.ts).
 */
import { AggregatorRegistry } from 'prom-client';
import { serve } from './serve.ts';
import { isClusterWorker, type FromWorker, type ToWorker } from './cluster.ts';
import type { Running } from './types.ts';

async function runWorker(): Promise<void> {
  // SIGHUP reaches the whole process group from a terminal: reloads come from the primary instead
  process.on('SIGHUP', () => {});
  const start = await new Promise<Extract<ToWorker, { regentra: 'start' }>>((resolve) => {
    const onMessage = (msg: ToWorker) => {
      if (msg?.regentra === 'stop') process.exit(0);
      if (msg?.regentra !== 'start') return;
      process.off('message', onMessage);
      resolve(msg);
    };
    process.on('message', onMessage);
    process.send?.({ regentra: 'hello' } satisfies FromWorker);
  });
  const send = (msg: FromWorker) => process.send?.(msg);
  let running: Running;
  try {
    running = await serve(start.config, { configFile: start.configFile, env: start.env, installSignalHandlers: false, opsListener: false });
  } catch (err) {
    send({ regentra: 'failed', error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  new AggregatorRegistry(); // answers the primary's metrics requests
  AggregatorRegistry.setRegistries([running.metrics.registry]);
  const stop = () => void running.stop();
  process.once('SIGTERM', stop).once('SIGINT', stop);
  process.on('message', (msg: ToWorker) => {
    if (msg?.regentra === 'reload') void running.reload().then((result) => send({ regentra: 'reloaded', id: msg.id, result, config: running.config }));
    else if (msg?.regentra === 'stop') stop();
  });
  send({ regentra: 'listening', url: running.url });
  process.exit(await running.closed);
}

if (isClusterWorker()) void runWorker();
