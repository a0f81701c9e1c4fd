/**
 * Configuration reload without dropping a request or closing the listening socket.
 *
 * The switchboard owns the public node:http server, which outlives every
 * configuration. Each Fastify app (one per configuration "generation") keeps its
 * own node:http server, which never listens: the switchboard hands every request,
 * WebSocket upgrade and client error to the current app by emitting the event on
 * that app's server, so Fastify's handler and any plugin's `upgrade` listener
 * (the proxy's WebSockets) see exactly what they would on a server of their own.
 *
 * A reload re-reads and validates the file, builds the new app and waits for it
 * to be ready, then swaps: new requests go to the new app at once, while requests
 * and WebSocket connections already running stay with the old one. The old app is
 * closed once they have all finished, or after `server.shutdownGraceMs`. A config
 * that does not validate, or an app that does not start, is refused: its errors
 * are logged and the running configuration keeps serving.
 *
 * Listener, ops, store and data-directory settings belong to objects that live
 * for the whole process; a reload that changes them reports them as needing a
 * restart (the rest of that reload still applies).
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayApp } from '../app.ts';
import type { Config } from '../config/schema.ts';
import type { LoadedConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface Generation {
  /** 1 for the configuration the process started with, +1 per successful reload */
  readonly id: number;
  readonly app: GatewayApp;
  readonly config: Config;
}

interface LiveGeneration extends Generation {
  /** requests whose response has not closed yet (a count: a Set of responses, added to and
   *  deleted from on every request, cost 10 % of the throughput and doubled the p99) */
  requests: number;
  /** upgraded (WebSocket) connections still open */
  readonly sockets: Set<Duplex>;
  /** called when both sets become empty */
  onIdle: (() => void) | null;
  /** set once closing the app has begun (a retiring generation may also be closed by a stop) */
  closed: Promise<void> | null;
}

export interface Switchboard {
  /** the listening server (created here, listened on by listen()) */
  readonly server: Server;
  /** the generation that receives new requests */
  readonly current: Generation;
  /** listen on host:port; resolves with a URL clients can use */
  listen(host: string, port: number): Promise<string>;
  /** send new requests to `app`; the previous generation is retired in the background (throws once closing) */
  swap(app: GatewayApp, config: Config): Generation;
  /**
   * Stop: refuse new connections, let running requests finish (connections are
   * closed after their response), close WebSockets, then close every app.
   * Resolves true when everything finished within graceMs, false when cut short.
   */
  close(graceMs: number): Promise<boolean>;
}

const isIdle = (gen: LiveGeneration) => gen.requests === 0 && gen.sockets.size === 0;

function forget<T>(gen: LiveGeneration, set: Set<T>, item: T): void {
  set.delete(item);
  if (isIdle(gen)) gen.onIdle?.();
}

function responseClosed(gen: LiveGeneration): void {
  gen.requests--;
  if (isIdle(gen)) gen.onIdle?.();
}

const kGeneration = Symbol('regentra.switchboard.generation');
type TrackedResponse = ServerResponse & { [kGeneration]?: LiveGeneration };

/** a response of a generation closed ('close' comes once per response; the mark makes sure it counts once) */
function onResponseClose(this: TrackedResponse): void {
  const gen = this[kGeneration];
  if (gen === undefined) return;
  this[kGeneration] = undefined;
  responseClosed(gen);
}

/** true once `gen` has nothing running, false if graceMs passes first */
function waitIdle(gen: LiveGeneration, graceMs: number): Promise<boolean> {
  if (isIdle(gen)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      gen.onIdle = null;
      resolve(false);
    }, graceMs);
    gen.onIdle = () => {
      clearTimeout(timer);
      gen.onIdle = null;
      resolve(true);
    };
  });
}

/** Close a generation's WebSockets politely (the proxy does it when its server is closed), then drop what is left. */
function closeUpgrades(gen: LiveGeneration): void {
  gen.app.server.close(() => {});
}

function destroyUpgrades(gen: LiveGeneration): void {
  for (const socket of gen.sockets) socket.destroy();
}

function usableUrl(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export function createSwitchboard(first: { app: GatewayApp; config: Config }, opts: { serverOptions: ServerOptions; log: FastifyBaseLogger }): Switchboard {
  const live = new Set<LiveGeneration>();
  let current = track(1, first.app, first.config);
  let closing = false;

  function track(id: number, app: GatewayApp, config: Config): LiveGeneration {
    const gen: LiveGeneration = { id, app, config, requests: 0, sockets: new Set(), onIdle: null, closed: null };
    live.add(gen);
    return gen;
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const gen = current;
    gen.requests++;
    // one shared listener, the generation on the response: no closure or once() wrapper per request (issue #17)
    (res as TrackedResponse)[kGeneration] = gen;
    res.on('close', onResponseClose);
    // while stopping, close each connection after its response
    if (closing) res.shouldKeepAlive = false;
    gen.app.server.emit('request', req, res);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const gen = current;
    if (closing || gen.app.server.listenerCount('upgrade') === 0) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    gen.sockets.add(socket);
    socket.once('close', () => forget(gen, gen.sockets, socket));
    gen.app.server.emit('upgrade', req, socket, head);
  }

  function onClientError(error: Error, socket: Duplex): void {
    const inner = current.app.server;
    if (inner.listenerCount('clientError') > 0) inner.emit('clientError', error, socket);
    else socket.destroy();
  }

  const server = createServer(opts.serverOptions);
  server.on('request', onRequest);
  /** open client connections (each carries many requests): at close, the response each is making is told to end it */
  const connections = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  server.on('upgrade', onUpgrade);
  server.on('clientError', onClientError);
  // an Expect other than 100-continue is the app's to answer (node:http would send its own 417)
  server.on('checkExpectation', onRequest);

  /** close a generation's app once, whoever asks first (a retirement or a stop) */
  function closeApp(gen: LiveGeneration): Promise<void> {
    gen.closed ??= gen.app.close().then(
      () => {
        live.delete(gen);
      },
      (err: unknown) => {
        live.delete(gen);
        opts.log.error({ err, generation: gen.id }, 'closing a configuration generation failed');
      },
    );
    return gen.closed;
  }

  async function retire(gen: LiveGeneration, graceMs: number): Promise<void> {
    const drained = await waitIdle(gen, graceMs);
    if (!drained) {
      opts.log.warn(
        { generation: gen.id, requests: gen.requests, websockets: gen.sockets.size },
        'closing the previous configuration with requests still running (server.shutdownGraceMs passed)',
      );
    }
    closeUpgrades(gen);
    destroyUpgrades(gen);
    await closeApp(gen);
    opts.log.info({ generation: gen.id, drained }, 'previous configuration closed');
  }

  return {
    server,
    get current() {
      return current;
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          resolve(usableUrl(server.address() as AddressInfo));
        });
      });
    },
    swap(app, config) {
      if (closing) throw new Error('the gateway is shutting down');
      const old = current;
      current = track(old.id + 1, app, config);
      void retire(old, old.config.server.shutdownGraceMs);
      return current;
    },
    async close(graceMs) {
      closing = true;
      // the responses being made now end their connection too (new ones do, see onRequest)
      for (const socket of connections) {
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
      const stopped = new Promise<true>((resolve) => server.close(() => resolve(true)));
      for (const gen of live) closeUpgrades(gen);
      let timer: NodeJS.Timeout | undefined;
      const clean = await Promise.race([stopped, new Promise<false>((resolve) => (timer = setTimeout(resolve, graceMs, false)))]);
      clearTimeout(timer);
      if (!clean) {
        server.closeAllConnections();
        for (const gen of live) destroyUpgrades(gen);
      }
      await Promise.all([...live].map(closeApp));
      return clean;
    },
  };
}

export type ReloadResult =
  | { readonly ok: true; readonly generation: number; readonly warnings: readonly string[]; readonly restartRequired: readonly string[] }
  | { readonly ok: false; readonly generation: number; readonly errors: readonly string[] };

export interface ReloaderOptions {
  readonly switchboard: Switchboard;
  /** read and validate the configuration file (throws ConfigError when it is not valid) */
  readonly load: () => LoadedConfig;
  /** build (not start) the gateway for a configuration */
  readonly build: (config: Config) => Promise<GatewayApp>;
  readonly log: FastifyBaseLogger;
  readonly metrics: Pick<Metrics, 'reloads' | 'configGeneration'>;
  /** told about each configuration that was swapped in (e.g. to apply log.level) */
  readonly applied?: (config: Config) => void;
}

export interface Reloader {
  /** re-read the file and swap to it; concurrent calls share a run, and one more run follows a call made during a run */
  readonly reload: () => Promise<ReloadResult>;
}

/** settings held by objects that live for the whole process: changing them needs a restart */
const RESTART_ONLY: readonly (readonly [path: string, get: (c: Config) => unknown])[] = Object.freeze<[string, (c: Config) => unknown][]>([
  ['server.host', (c) => c.server.host],
  ['server.port', (c) => c.server.port],
  ['server.headersTimeoutMs', (c) => c.server.headersTimeoutMs],
  ['server.requestTimeoutMs', (c) => c.server.requestTimeoutMs],
  ['server.keepAliveTimeoutMs', (c) => c.server.keepAliveTimeoutMs],
  ['server.maxHeaderBytes', (c) => c.server.maxHeaderBytes],
  ['ops', (c) => c.ops],
  ['store', (c) => c.store],
  ['dataDir', (c) => c.dataDir],
]);

/** paths (never values: some are secrets) of restart-only settings that differ */
export function restartRequired(before: Config, after: Config): string[] {
  return RESTART_ONLY.filter(([, get]) => JSON.stringify(get(before)) !== JSON.stringify(get(after))).map(([path]) => path);
}

function describeErrors(err: unknown): string[] {
  if (err instanceof ConfigError) return err.issues.map((i) => `${i.path || '(root)'}: ${i.message}`);
  return [`the new configuration could not be started: ${err instanceof Error ? err.message : String(err)}`];
}

export function createReloader(opts: ReloaderOptions): Reloader {
  const { switchboard, log, metrics } = opts;
  let running: Promise<ReloadResult> | null = null;
  let queued: Promise<ReloadResult> | null = null;

  function refuse(errors: string[]): ReloadResult {
    const generation = switchboard.current.id;
    metrics.reloads.inc({ outcome: 'refused' });
    log.error(
      { errors, generation },
      `configuration reload refused (${errors.length} problem${errors.length === 1 ? '' : 's'}); still serving generation ${generation}`,
    );
    return Object.freeze({ ok: false, generation, errors: Object.freeze(errors) });
  }

  async function run(): Promise<ReloadResult> {
    let loaded: LoadedConfig;
    try {
      loaded = opts.load();
    } catch (err) {
      return refuse(describeErrors(err));
    }
    const before = switchboard.current.config;
    let app: GatewayApp | undefined;
    let gen: Generation;
    try {
      app = await opts.build(loaded.config);
      await app.ready();
      gen = switchboard.swap(app, loaded.config);
    } catch (err) {
      await app?.close().catch(() => {});
      return refuse(describeErrors(err));
    }
    opts.applied?.(loaded.config);
    const restart = restartRequired(before, loaded.config);
    metrics.reloads.inc({ outcome: 'success' });
    metrics.configGeneration.set(gen.id);
    for (const w of loaded.warnings) log.warn(`configuration: ${w}`);
    if (restart.length > 0) log.warn({ restartRequired: restart }, 'configuration reloaded, but these settings take effect only after a restart');
    log.info({ generation: gen.id }, 'configuration reloaded');
    return Object.freeze({ ok: true, generation: gen.id, warnings: loaded.warnings, restartRequired: Object.freeze(restart) });
  }

  function reload(): Promise<ReloadResult> {
    if (running === null) {
      running = run().finally(() => {
        running = null;
      });
      return running;
    }
    queued ??= running.then(() => {
      queued = null;
      return reload();
    });
    return queued;
  }

  return Object.freeze({ reload });
}
