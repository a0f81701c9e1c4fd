/**
 * `regentra-gateway serve`: the gateway's listener and its ops listener in this process, or
 * the primary of several workers (cluster.ts). The process runtime sits above everything it
 * starts: nothing under src/ imports it but main.ts and the worker entry (cluster-worker.ts).
 */
import { loadConfigFile } from '../config/load.ts';
import { buildApp, httpServerOptions, type GatewayApp } from '../app.ts';
import { openConfiguredStore } from '../store/index.ts';
import type { Config } from '../config/schema.ts';
import { createMetrics } from '../ops/metrics.ts';
import { closeLogger, createLogger } from '../ops/logger.ts';
import { instrumentStore } from '../ops/instrumented-store.ts';
import { buildOpsServer, type OpsState } from './ops-server.ts';
import { createReloader, createSwitchboard } from './reload.ts';
import { isClusterWorker, serveWorkers } from './cluster.ts';
import { closeEach } from './close-steps.ts';
import type { Running, ServeOptions } from './types.ts';

export type { Running, ServeOptions } from './types.ts';

/**
 * Start the gateway and its ops listener. SIGTERM/SIGINT stop it gracefully;
 * SIGHUP reloads the configuration file (src/runtime/reload.ts).
 */
export async function serve(config: Config, options: ServeOptions = {}): Promise<Running> {
  if (config.server.workers > 1 && !isClusterWorker()) return serveWorkers(config, options);
  const logger = createLogger(config.log.level, options.logDestination);
  const metrics = createMetrics();
  const store = instrumentStore(await openConfiguredStore(config), metrics);
  const build = (c: Config) => buildApp(c, { store, logger, metrics });
  const state: OpsState = { draining: false };
  let app: GatewayApp;
  try {
    app = await build(config);
    await app.ready();
  } catch (err) {
    await store.close();
    metrics.close();
    throw err;
  }
  const switchboard = createSwitchboard({ app, config }, { serverOptions: httpServerOptions(config), log: logger });
  const reloader = createReloader({
    switchboard,
    build,
    log: logger,
    metrics,
    load: () => {
      if (!options.configFile) throw new Error('the gateway was started without a configuration file to re-read');
      return loadConfigFile(options.configFile, options.env ?? {});
    },
    applied: (c) => {
      logger.level = c.log.level;
    },
  });
  const ops = options.opsListener === false ? null : buildOpsServer({ store, metrics, state, reload: reloader.reload });
  let url: string;
  let opsUrl: string;
  metrics.configGeneration.set(1);
  try {
    url = await switchboard.listen(config.server.host, config.server.port);
    opsUrl = ops ? await ops.listen({ host: config.ops.host, port: config.ops.port }) : '';
  } catch (err) {
    await switchboard.close(0);
    await ops?.close();
    await store.close();
    metrics.close();
    throw err;
  }

  let resolveClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((r) => (resolveClosed = r));
  const onHangup = () => void reloader.reload();
  const onStop = () => void stop();
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      state.draining = true;
      process.off('SIGHUP', onHangup).off('SIGTERM', onStop).off('SIGINT', onStop);
      logger.info('shutting down: finishing in-flight requests');
      const graceMs = switchboard.current.config.server.shutdownGraceMs;
      // backstop, should closing an app hang
      const force = setTimeout(() => {
        logger.error('graceful shutdown timed out; exiting');
        resolveClosed(1);
      }, graceMs + 5_000);
      force.unref();
      let clean: boolean;
      try {
        clean = await switchboard.close(graceMs);
        if (!clean) logger.error('graceful shutdown timed out: connections still open were closed');
      } catch (err) {
        clean = false;
        logger.error({ err }, 'closing the gateway failed');
      }
      const stepsClosed = await closeEach(
        [
          ['the ops listener', () => ops?.close()],
          ['the store', () => store.close()],
          ['the metrics', () => metrics.close()],
        ],
        logger,
      );
      clean &&= stepsClosed;
      clearTimeout(force);
      logger.info('stopped');
      // the logger writes in batches (ops/logger.ts): every line is out before the process may exit
      await closeLogger(logger);
      resolveClosed(clean ? 0 : 1);
    })());

  if (options.installSignalHandlers !== false) {
    process.once('SIGTERM', onStop).once('SIGINT', onStop).on('SIGHUP', onHangup);
  }
  return {
    url,
    opsUrl,
    closed,
    stop,
    reload: reloader.reload,
    get app() {
      return switchboard.current.app;
    },
    get config() {
      return switchboard.current.config;
    },
    metrics,
    store,
  };
}
