/**
 * The ops listener (default 127.0.0.1:9090), kept off the public listener:
 *
 *   GET  /healthz    liveness: the process answers
 *   GET  /readyz     readiness: not shutting down, and every check (the store's ping()) passes;
 *                    `?exclude=store` skips a check by name (as Kubernetes' own /readyz does)
 *   GET  /metrics    Prometheus metrics
 *   POST /-/reload   re-read the configuration file (what SIGHUP does), when serve() has one
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../store/types.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ReloadResult } from './reload.ts';

export interface OpsState {
  /** set when shutting down: readiness fails so load balancers stop sending traffic */
  draining: boolean;
}

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface OpsServerOptions {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly state: OpsState;
  readonly checks?: readonly ReadinessCheck[];
  /** enables POST /-/reload */
  readonly reload?: () => Promise<ReloadResult>;
}

/** `?exclude=a,b` or `?exclude=a&exclude=b` */
function excluded(query: unknown): Set<string> {
  const raw = (query as { exclude?: string | string[] } | undefined)?.exclude;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return new Set(
    list
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean),
  );
}

export function buildOpsServer(opts: OpsServerOptions): FastifyInstance {
  const ops = Fastify({ logger: false });
  ops.get('/healthz', () => ({ status: 'ok' }));
  ops.get('/readyz', async (request, reply) => {
    const results: Record<string, string> = {};
    let ok = !opts.state.draining;
    if (opts.state.draining) results.shutdown = 'draining';
    const skip = excluded(request.query);
    const checks: ReadinessCheck[] = [{ name: 'store', check: () => opts.store.ping() }, ...(opts.checks ?? [])];
    for (const c of checks) {
      if (skip.has(c.name)) {
        results[c.name] = 'excluded';
        continue;
      }
      try {
        await withTimeout(c.check(), 2_000);
        results[c.name] = 'ok';
      } catch (err) {
        ok = false;
        results[c.name] = `unavailable: ${(err as Error).message}`;
      }
    }
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks: results });
  });
  ops.get('/metrics', async (_request, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  const reload = opts.reload;
  if (reload) {
    ops.post('/-/reload', async (_request, reply) => {
      const result = await reload();
      return reply.code(result.ok ? 200 : 422).send(result);
    });
  }
  return ops;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
