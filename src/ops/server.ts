/**
 * The ops listener (default 127.0.0.1:9090): liveness, readiness and metrics,
 * kept off the public listener.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../store/types.ts';
import type { Metrics } from './metrics.ts';

export interface OpsState {
  /** set when shutting down: readiness fails so load balancers stop sending traffic */
  draining: boolean;
}

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export function buildOpsServer(opts: { store: Store; metrics: Metrics; state: OpsState; checks?: readonly ReadinessCheck[] }): FastifyInstance {
  const ops = Fastify({ logger: false });
  ops.get('/healthz', async () => ({ status: 'ok' }));
  ops.get('/readyz', async (_request, reply) => {
    const results: Record<string, string> = {};
    let ok = !opts.state.draining;
    if (opts.state.draining) results.shutdown = 'draining';
    const checks: ReadinessCheck[] = [{ name: 'store', check: () => opts.store.ping() }, ...(opts.checks ?? [])];
    for (const c of checks) {
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
