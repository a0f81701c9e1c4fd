/**
 * The last steps of a stop (serve.ts, and the primary of several workers in cluster.ts):
 * each is tried whatever the one before did. A step that throws is logged by name and makes
 * the stop unclean (the exit code 1), instead of skipping the steps after it or rejecting the
 * stop (in a worker: an unhandled rejection, exit code 1 with nothing said).
 */
export type CloseStep = readonly [what: string, close: () => unknown];

/** true when every step closed */
export async function closeEach(steps: readonly CloseStep[], log: { error(obj: object, msg: string): void }): Promise<boolean> {
  let clean = true;
  for (const [what, close] of steps) {
    try {
      await close();
    } catch (err) {
      clean = false;
      log.error({ err }, `closing ${what} failed`);
    }
  }
  return clean;
}
