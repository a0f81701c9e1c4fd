/**
 * `server.workers: N` (N > 1): the gateway in N worker processes (node:cluster),
 * for operators who run it on a VM with several cores rather than as several
 * single-process replicas.
 *
 * The primary process serves no requests. It starts the workers, hands each the
 * configuration over IPC, and runs the ops listener:
 *   /metrics   the workers' metrics, aggregated (prom-client's AggregatorRegistry:
 *              counters and histograms are summed; so are gauges)
 *   /readyz    not draining, every worker running, and the store answers
 *   /-/reload  every worker re-reads the configuration file (SIGHUP does the same)
 * Each worker is an ordinary serve() (its own app, switchboard, store connection,
 * metrics) without an ops listener; the workers share the listening socket (the
 * primary hands out connections round-robin) and nothing else but the keys, which
 * come with the configuration, and the store. So a sign-in on one worker is a
 * session on all, and a revocation reaches all within revocationCheckSeconds.
 *
 * SIGTERM/SIGINT on the primary drains every worker (as serve() does) and exits
 * when they have; a worker that dies otherwise is replaced after a second.
 * Settings read once at start (workers, listener, ops, store) need a restart.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import type { Running, ServeOptions } from './types.ts';
import { openConfiguredStore } from '../store/index.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ReloadResult } from './reload.ts';
import { buildOpsServer, type OpsState } from './ops-server.ts';
import { loggerOptions } from '../ops/logger.ts';
import { closeEach } from './close-steps.ts';

const WORKER_ENV = 'REGENTRA_CLUSTER_WORKER';
const RESTART_DELAY_MS = 1_000;

/** the primary ↔ worker messages (cluster-worker.ts is the other end) */
export type ToWorker =
  | { readonly regentra: 'start'; readonly config: Config; readonly configFile?: string; readonly env?: Readonly<Record<string, string | undefined>> }
  | { readonly regentra: 'reload'; readonly id: number }
  | { readonly regentra: 'stop' };
export type FromWorker =
  | { readonly regentra: 'hello' }
  | { readonly regentra: 'listening'; readonly url: string }
  | { readonly regentra: 'failed'; readonly error: string }
  | { readonly regentra: 'reloaded'; readonly id: number; readonly result: ReloadResult; readonly config: Config };

const isMessage = (m: unknown): m is FromWorker => typeof m === 'object' && m !== null && 'regentra' in m;

/** Is this process one of the gateway's cluster workers? */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1';
}

function usesMemoryStore(config: Config): boolean {
  return config.store.driver === 'sqlite' && (config.store.path === undefined || config.store.path === ':memory:' || config.store.path.includes('mode=memory'));
}

/** The primary: start `config.server.workers` workers and the ops listener. */
export async function serveWorkers(config: Config, options: ServeOptions = {}): Promise<Running> {
  const count = config.server.workers;
  if (usesMemoryStore(config)) {
    throw new ConfigError([
      { path: 'server.workers', message: `${count} workers need a store they can share: a SQLite file or PostgreSQL, not an in-memory database` },
    ]);
  }
  const log = options.logDestination ? pino(loggerOptions(config.log.level), options.logDestination) : pino(loggerOptions(config.log.level));
  const store = await openConfiguredStore(config);
  const state: OpsState = { draining: false };
  /** what a new worker is started with (after a reload: the configuration the workers run now) */
  let start: Extract<ToWorker, { regentra: 'start' }> = { regentra: 'start', config, configFile: options.configFile, env: options.env };

  cluster.setupPrimary({ exec: fileURLToPath(new URL('./cluster-worker.ts', import.meta.url)), args: [], serialization: 'advanced' });
  const workers = new Set<Worker>();
  /** workers that are serving (started and listening) */
  const serving = new Set<Worker>();
  let stopping = false;
  let firstListening: (url: string) => void = () => {};
  let firstFailed: (err: Error) => void = () => {};
  const started = new Promise<string>((resolve, reject) => {
    firstListening = resolve;
    firstFailed = reject;
  });
  let listening = 0;
  let everyoneUp = false;
  /** reloads in progress: the workers yet to answer */
  const reloads = new Map<number, { waiting: Set<Worker>; results: ReloadResult[]; done: (r: ReloadResult[]) => void }>();

  function fork(): void {
    const worker = cluster.fork({ [WORKER_ENV]: '1' });
    workers.add(worker);
    worker.on('message', (msg: unknown) => {
      if (!isMessage(msg)) return;
      // the worker asks once it listens for messages (any sent earlier would be lost)
      if (msg.regentra === 'hello') {
        if (stopping) worker.process.kill('SIGTERM');
        else worker.send(start);
      } else if (msg.regentra === 'listening') {
        serving.add(worker);
        listening++;
        if (listening === count) everyoneUp = true;
        if (listening >= count) firstListening(msg.url);
      } else if (msg.regentra === 'failed') {
        log.error({ worker: worker.process.pid, error: msg.error }, 'gateway worker failed to start');
        if (!everyoneUp) firstFailed(new Error(msg.error));
      } else if (msg.regentra === 'reloaded') {
        const r = reloads.get(msg.id);
        if (!r || !r.waiting.delete(worker)) return;
        r.results.push(msg.result);
        if (msg.result.ok) start = { ...start, config: msg.config };
        if (r.waiting.size === 0) r.done(r.results);
      }
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      serving.delete(worker);
      for (const r of reloads.values()) if (r.waiting.delete(worker) && r.waiting.size === 0) r.done(r.results);
      if (stopping) return;
      if (!everyoneUp) {
        firstFailed(new Error(`a gateway worker exited during start-up (${signal ?? `code ${code}`})`));
        return;
      }
      log.error({ worker: worker.process.pid, code, signal }, 'gateway worker exited; starting another');
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS).unref();
    });
  }

  /** stop every worker (each drains like a single-process gateway) and wait for them to exit */
  async function stopWorkers(graceMs: number): Promise<boolean> {
    const exits = [...workers].map(
      (w) =>
        new Promise<boolean>((resolve) => {
          if (w.isDead()) return resolve(true);
          const kill = setTimeout(() => w.process.kill('SIGKILL'), graceMs + 10_000);
          const drains = serving.has(w) && w.isConnected();
          w.once('exit', (code, signal) => {
            clearTimeout(kill);
            const clean = !drains || code === 0;
            if (!clean) log.error({ worker: w.process.pid, code, signal }, 'gateway worker did not stop cleanly');
            resolve(clean);
          });
          // a worker still starting has nothing to drain
          if (drains) w.send({ regentra: 'stop' } satisfies ToWorker);
          else w.process.kill('SIGTERM');
        }),
    );
    return (await Promise.all(exits)).every(Boolean);
  }

  let nextReload = 0;
  async function reload(): Promise<ReloadResult> {
    const id = ++nextReload;
    const targets = [...serving].filter((w) => w.isConnected());
    const results = await new Promise<ReloadResult[]>((done) => {
      if (targets.length === 0) return done([]);
      reloads.set(id, { waiting: new Set(targets), results: [], done });
      for (const w of targets) w.send({ regentra: 'reload', id } satisfies ToWorker);
    });
    reloads.delete(id);
    const failed = results.filter((r) => !r.ok);
    if (results.length === 0) return { ok: false, generation: 0, errors: ['no gateway worker is running'] };
    if (failed.length > 0) {
      const errors = [...new Set(failed.flatMap((r) => (r.ok ? [] : r.errors)))];
      return { ok: false, generation: Math.min(...results.map((r) => r.generation)), errors };
    }
    const first = results[0] as Extract<ReloadResult, { ok: true }>;
    return { ok: true, generation: Math.min(...results.map((r) => r.generation)), warnings: first.warnings, restartRequired: first.restartRequired };
  }

  for (let i = 0; i < count; i++) fork();
  let url: string;
  try {
    url = await started;
  } catch (err) {
    stopping = true;
    await stopWorkers(0);
    await store.close();
    throw err;
  }

  // the ops listener: the workers' metrics aggregated, readiness of the whole set
  const aggregator = new AggregatorRegistry();
  const metrics = { registry: { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() } } as unknown as Metrics;
  const ops = buildOpsServer({
    store,
    metrics,
    state,
    reload: options.configFile ? reload : undefined,
    checks: [
      {
        name: 'workers',
        check: () => (serving.size < count ? Promise.reject(new Error(`${serving.size} of ${count} workers serving`)) : Promise.resolve()),
      },
    ],
  });
  let opsUrl: string;
  try {
    opsUrl = await ops.listen({ host: config.ops.host, port: config.ops.port });
  } catch (err) {
    stopping = true;
    await stopWorkers(0);
    await store.close();
    throw err;
  }
  log.info({ workers: count, url, opsUrl }, 'gateway workers started');

  let resolveClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((r) => (resolveClosed = r));
  const onHangup = () =>
    void reload().then((r) =>
      r.ok ? log.info({ generation: r.generation }, 'configuration reloaded in every worker') : log.error({ errors: r.errors }, 'configuration reload refused'),
    );
  const onStop = () => void stop();
  let stoppingRun: Promise<void> | null = null;
  const stop = () =>
    (stoppingRun ??= (async () => {
      stopping = true;
      state.draining = true;
      process.off('SIGHUP', onHangup).off('SIGTERM', onStop).off('SIGINT', onStop);
      log.info('shutting down: the workers finish their in-flight requests');
      const clean = await stopWorkers(config.server.shutdownGraceMs);
      const stepsClosed = await closeEach(
        [
          ['the ops listener', () => ops.close()],
          ['the store', () => store.close()],
        ],
        log,
      );
      log.info('stopped');
      resolveClosed(clean && stepsClosed ? 0 : 1);
    })());
  if (options.installSignalHandlers !== false) process.once('SIGTERM', onStop).once('SIGINT', onStop).on('SIGHUP', onHangup);

  return {
    url,
    opsUrl,
    closed,
    stop,
    reload,
    get app(): never {
      throw new Error(`the gateway runs in ${count} worker processes: there is no app in the primary`);
    },
    get config(): never {
      throw new Error(`the gateway runs in ${count} worker processes: each holds its own configuration`);
    },
    get store(): never {
      throw new Error(`the gateway runs in ${count} worker processes: the primary does not use the store for requests`);
    },
    get metrics(): never {
      throw new Error(`the gateway runs in ${count} worker processes: their metrics are aggregated on the ops listener`);
    },
  };
}

/** A worker: wait for the configuration, then serve() without an ops listener until told to stop. */
