/**
 * Prometheus metrics (prom-client), served on the ops listener at /metrics.
 * Label sets are bounded: site kind, realm kind, method, outcome, status class —
 * never a user, a path or a client id.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addHistogramObservations } from '../util/library-patches.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'site' | 'status_class'>;
  readonly upstreamLatency: Histogram<'site'>;
  readonly upstreamErrors: Counter<'site' | 'kind'>;
  /** proxied requests the fast lane answered ahead of Fastify (src/proxy/lane.ts); the rest went through Fastify */
  readonly fastLane: Counter;
  readonly signIns: Counter<'realm' | 'method' | 'outcome'>;
  readonly lockouts: Counter<'realm'>;
  readonly idpLatency: Histogram<'operation'>;
  readonly idpErrors: Counter<'operation'>;
  readonly storeLatency: Histogram<'operation'>;
  /** failed store calls by operation and StoreError code (UNAVAILABLE, CONFLICT, …; `unknown` for anything else) */
  readonly storeErrors: Counter<'operation' | 'code'>;
  /** configuration reloads by outcome (`success`, `refused`) */
  readonly reloads: Counter<'outcome'>;
  /** the configuration generation being served (1 at start, +1 per successful reload) */
  readonly configGeneration: Gauge;
  /** when each Entra app's last credential expires (src/auth/entra/expiry.ts) */
  readonly credentialExpiry: Gauge;
  /** Microsoft refused a credential and the next one was tried (rotation) */
  readonly credentialFallbacks: Counter;
  /** the proxied requests' metrics (requests, upstreamLatency, fastLane), counted the cheap way */
  readonly hot: HotMetrics;
  /** stop background collectors */
  close(): void;
}

/**
 * What every proxied request counts. Tallied in plain arrays and handed to prom-client when
 * the metrics are read (its collect() hook): prom-client's inc()/observe() validate and hash
 * the labels on every call, which cost 8 % of a proxied request's instructions (issue #17).
 */
export interface HotMetrics {
  /** a request on a proxied path was answered with `status` (regentra_proxied_requests_total) */
  request(this: void, siteKind: string, status: number): void;
  /** the upstream answered after `seconds` (regentra_upstream_response_seconds) */
  upstreamLatency(this: void, siteKind: string, seconds: number): void;
  /** the fast lane forwarded a request (regentra_fast_lane_requests_total) */
  fastLane(this: void): void;
}

const UPSTREAM_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);

interface LatencyTally {
  /** per bucket bound: observations at or under it and above the previous one */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

function hotMetrics(): HotMetrics & {
  flushRequests(counter: Counter<'site' | 'status_class'>): void;
  flushLatency(histogram: Histogram<'site'>): void;
  flushFastLane(counter: Counter): void;
} {
  /** site kind → answered requests by status class (index 1…5: 1xx…5xx) */
  const requests = new Map<string, Float64Array>();
  const latency = new Map<string, LatencyTally>();
  let fastLane = 0;
  return {
    request(siteKind, status) {
      let byClass = requests.get(siteKind);
      if (byClass === undefined) requests.set(siteKind, (byClass = new Float64Array(6)));
      const c = Math.floor(status / 100);
      byClass[c >= 1 && c <= 5 ? c : 0]! += 1;
    },
    upstreamLatency(siteKind, seconds) {
      let t = latency.get(siteKind);
      if (t === undefined) latency.set(siteKind, (t = { counts: new Float64Array(UPSTREAM_BUCKETS.length), sum: 0, count: 0 }));
      for (let i = 0; i < UPSTREAM_BUCKETS.length; i++) {
        if (seconds <= (UPSTREAM_BUCKETS[i] as number)) {
          t.counts[i]! += 1;
          break;
        }
      }
      t.sum += seconds;
      t.count += 1;
    },
    fastLane() {
      fastLane++;
    },
    flushRequests(counter) {
      for (const [site, byClass] of requests) {
        for (let c = 0; c < byClass.length; c++) {
          const n = byClass[c] as number;
          if (n === 0) continue;
          // a status outside 100…599 (node:http refuses those) would be counted as 0xx
          counter.inc({ site, status_class: `${c}xx` }, n);
          byClass[c] = 0;
        }
      }
    },
    flushLatency(histogram) {
      for (const [site, t] of latency) {
        if (t.count === 0) continue;
        addHistogramObservations(histogram, { site }, t.counts, t.sum, t.count);
        t.counts.fill(0);
        t.sum = 0;
        t.count = 0;
      }
    },
    flushFastLane(counter) {
      if (fastLane === 0) return;
      counter.inc(fastLane);
      fastLane = 0;
    },
  };
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'regentra_' });
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  new Gauge({
    name: 'regentra_event_loop_lag_p99_seconds',
    help: 'Event-loop delay, 99th percentile since the last scrape',
    registers: [registry],
    collect() {
      this.set(lag.percentile(99) / 1e9);
      lag.reset();
    },
  });
  const hot = hotMetrics();
  const m: Metrics = {
    registry,
    hot,
    requests: new Counter({
      name: 'regentra_proxied_requests_total',
      help: 'Requests answered for proxied paths, by site kind and status class',
      labelNames: ['site', 'status_class'],
      registers: [registry],
      collect() {
        hot.flushRequests(this);
      },
    }),
    upstreamLatency: new Histogram({
      name: 'regentra_upstream_response_seconds',
      help: 'Time from the gateway forwarding a request to the upstream answering headers',
      labelNames: ['site'],
      buckets: [...UPSTREAM_BUCKETS],
      registers: [registry],
      collect() {
        hot.flushLatency(this);
      },
    }),
    fastLane: new Counter({
      name: 'regentra_fast_lane_requests_total',
      help: 'Proxied requests forwarded by the fast lane, ahead of Fastify (the rest of regentra_proxied_requests_total went through Fastify)',
      registers: [registry],
      collect() {
        hot.flushFastLane(this);
      },
    }),
    upstreamErrors: new Counter({
      name: 'regentra_upstream_errors_total',
      help: 'Upstream failures (timeout, unavailable)',
      labelNames: ['site', 'kind'],
      registers: [registry],
    }),
    signIns: new Counter({
      name: 'regentra_signins_total',
      help: 'Sign-in attempts by realm kind, method and outcome',
      labelNames: ['realm', 'method', 'outcome'],
      registers: [registry],
    }),
    lockouts: new Counter({ name: 'regentra_lockouts_total', help: 'Accounts locked after repeated failures', labelNames: ['realm'], registers: [registry] }),
    idpLatency: new Histogram({
      name: 'regentra_idp_request_seconds',
      help: 'Entra ID request latency by operation',
      labelNames: ['operation'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    idpErrors: new Counter({
      name: 'regentra_idp_errors_total',
      help: 'Entra ID request failures by operation',
      labelNames: ['operation'],
      registers: [registry],
    }),
    storeLatency: new Histogram({
      name: 'regentra_store_operation_seconds',
      help: 'Store operation latency',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'regentra_store_errors_total',
      help: 'Store operation failures by operation and error code',
      labelNames: ['operation', 'code'],
      registers: [registry],
    }),
    reloads: new Counter({
      name: 'regentra_config_reloads_total',
      help: 'Configuration reloads by outcome (success, refused)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    configGeneration: new Gauge({
      name: 'regentra_config_generation',
      help: 'Generation of the configuration being served (1 at start, +1 per successful reload)',
      registers: [registry],
    }),
    credentialExpiry: new Gauge({
      name: 'regentra_entra_credential_expiry_timestamp_seconds',
      help: 'When the Entra app (staff, portal) loses its last unexpired credential (client secret or certificate), Unix seconds; absent when no expiry is known',
      labelNames: ['app'],
      registers: [registry],
    }),
    credentialFallbacks: new Counter({
      name: 'regentra_entra_credential_fallbacks_total',
      help: 'Entra refused a credential (AADSTS7000215, 7000222, 700027) and the app’s next credential was tried',
      labelNames: ['refused', 'code'],
      registers: [registry],
    }),
    close: () => lag.disable(),
  };
  return Object.freeze(m);
}

/** `portal:acme` → `portal`: realm label without the client id (bounded). */
export function realmKind(realm: string | null | undefined): string {
  if (!realm) return 'none';
  return realm.startsWith('portal:') ? 'portal' : realm;
}
