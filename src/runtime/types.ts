/** What a started gateway process looks like (serve.ts, and cluster.ts for several workers). */
import type pino from 'pino';
import type { GatewayApp } from '../app.ts';
import type { Config } from '../config/schema.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Store } from '../store/types.ts';
import type { ReloadResult } from './reload.ts';

export interface Running {
  readonly url: string;
  readonly opsUrl: string;
  /** resolves with the exit code once stopped */
  readonly closed: Promise<number>;
  stop(): Promise<void>;
  /** re-read the configuration file and swap to it without dropping requests (what SIGHUP does) */
  readonly reload: () => Promise<ReloadResult>;
  /** the app that receives new requests (a reload replaces it) */
  readonly app: GatewayApp;
  /** the configuration in force (a reload replaces it) */
  readonly config: Config;
  /** the process's metrics (kept across reloads) */
  readonly metrics: Metrics;
  /** the store every configuration generation of this process shares */
  readonly store: Store;
}

export interface ServeOptions {
  readonly installSignalHandlers?: boolean;
  /** the file the configuration came from: SIGHUP and POST /-/reload on the ops listener re-read it */
  readonly configFile?: string;
  /** the environment `${ENV}` references resolve against on reload */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** where log lines go (default stdout) */
  readonly logDestination?: pino.DestinationStream;
  /** false in a cluster worker (src/runtime/cluster.ts): the primary runs the ops listener */
  readonly opsListener?: boolean;
}
