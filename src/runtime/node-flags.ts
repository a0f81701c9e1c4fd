/**
 * The Node.js flags the gateway is meant to run with. The launchers (bin/regentra-gateway.js's
 * shebang, the Dockerfile's CMD, `npm start`) pass them; test/deploy checks that they do, and
 * the benchmark starts the gateway with them. Cluster workers inherit them.
 *
 * --max-semi-space-size=16 (MiB): a proxy allocates a buffer for every chunk it reads, outside
 * the JavaScript heap. With V8's default young generation on a large machine (64 MiB per
 * semi-space here) young collections are rare, so those buffers pile up until their total
 * forces full collections instead, several a second. A 16 MiB young generation frees them in
 * cheap young collections. Measured (docs/performance.md): 64 KB responses 6,300 → 9,000 per
 * CPU-second, with 44 → 6 full collections in the same run; small requests unchanged.
 */
export const NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=16']);

/** The flags of NODE_FLAGS this process was started without (each by its name: a different value is the operator's choice). */
export function missingNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(flagName);
  return NODE_FLAGS.filter((f) => !given.includes(flagName(f)));
}

const flagName = (flag: string): string => flag.split('=')[0]!.replace(/_/g, '-');
