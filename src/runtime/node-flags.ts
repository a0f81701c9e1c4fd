/**
 * The Node.js flags the gateway is meant to run with. The launchers (bin/regentra-gateway.js's
 * shebang, the Dockerfile's CMD, `npm start`) pass them; test/ops checks that they do, and
 * the benchmark starts the gateway with them. Cluster workers inherit them.
 *
 * A young generation of 2 MiB a semi-space, fixed (--min-semi-space-size=2
 * --max-semi-space-size=2): a proxy allocates a buffer outside the JavaScript heap for every
 * chunk of a body it reads (node:http copies each chunk of a request body, undici each chunk of
 * a response), and those buffers are freed only by a collection. When young collections are rare
 * — V8 sizes the young generation for the machine, 64 MiB a semi-space here, and grows a smaller
 * one up to its maximum — the buffers pile up outside the heap until their total forces a full
 * collection instead, several a second, each marking the whole heap. A young generation this small is
 * collected every few dozen requests with bodies, which frees them cheaply. Measured
 * (docs/performance.md): 64 KB responses 6,300 → 9,000 per CPU-second with 16 MiB (44 → 6 full
 * collections in one run, round six); 1 MB uploads ÷ the bare proxy 0.71–0.86× with up to
 * 16 MiB, 1.38–2.04× fixed at 2 MiB (about 200 → 24–70 full collections in one run; 4 MiB did
 * not help: 0.72–0.81×), 64 KB responses and small requests unchanged (instructions a small
 * request 202.1k → 201.2k), RSS with 100,000 sessions lower (round fifteen).
 */
export const NODE_FLAGS: readonly string[] = Object.freeze(['--min-semi-space-size=2', '--max-semi-space-size=2']);

/** The flags of NODE_FLAGS this process was started without (each by its name: a different value is the operator's choice). */
export function missingNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(flagName);
  return NODE_FLAGS.filter((f) => !given.includes(flagName(f)));
}

const flagName = (flag: string): string => flag.split('=')[0]!.replace(/_/g, '-');
