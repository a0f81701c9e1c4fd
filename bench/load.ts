/**
 * One load measurement with autocannon: a warm-up, then a timed run whose every
 * response time is kept (autocannon's own histogram has 1 ms resolution; the
 * gateway's added latency is sub-millisecond), so percentiles are exact.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  /** milliseconds */
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
}

function run(opts: LoadOptions, seconds: number, onResponse?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        method: opts.method ?? 'GET',
        headers: { ...opts.headers },
        body: opts.body,
        connections: opts.connections,
        pipelining: 1,
        duration: seconds,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => status < 400 && onResponse(ms));
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export async function measure(opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmupSeconds > 0) await run(opts, opts.warmupSeconds);
  const times: number[] = [];
  const result = await run(opts, opts.durationSeconds, (ms) => times.push(ms));
  const sorted = Float64Array.from(times).sort();
  return {
    requests: result.requests.total,
    rps: result.requests.total / opts.durationSeconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
