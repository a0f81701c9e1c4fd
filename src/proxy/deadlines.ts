/**
 * Idle deadlines for proxied exchanges, without a timer per request.
 *
 * An exchange joins a doubly linked list when it starts (two field writes, no
 * allocation) and leaves it when it ends; one ticker, running only while the list is
 * not empty, looks every TICK_MS for exchanges idle for longer than their timeout.
 *
 * Why not a timer per request: a Node.js timer per exchange (create, then clear) cost
 * 3–5 % of the gateway's throughput on small requests (paired runs, docs/performance.md),
 * and undici's own headersTimeout/bodyTimeout keep each ended request's timer in a list
 * until their next tick, up to a second later: at thousands of requests a second every
 * one of those outlived two young-generation collections and was promoted, and the full
 * collections that followed showed in the tail latency. Entries here leave the list the
 * moment their exchange ends, so they die young.
 *
 * Timestamps are exact (performance.now()); only the detection is coarse: a deadline
 * fires between `timeoutMs` and `timeoutMs + TICK_MS` after the last progress, never early.
 */

/** how often idle exchanges are looked for */
export const TICK_MS = 100;

export interface Timed {
  /** list links (owned by this module) */
  prevTimed: Timed | null;
  nextTimed: Timed | null;
  /** performance.now() of the last progress */
  lastActivity: number;
  readonly timeoutMs: number;
  /** held back by a slow client: not idle by the upstream's fault */
  readonly paused: boolean;
  /** called once when idle for longer than timeoutMs (it has already left the list) */
  onDeadline(): void;
}

/** the list head: a sentinel, so that linking and unlinking need no branches on emptiness */
const head = { prevTimed: null, nextTimed: null } as unknown as Timed;
let ticker: NodeJS.Timeout | null = null;
let size = 0;

export function track(t: Timed): void {
  if (t.prevTimed !== null) return;
  const first = head.nextTimed;
  t.prevTimed = head;
  t.nextTimed = first;
  if (first !== null) first.prevTimed = t;
  head.nextTimed = t;
  if (++size === 1 && ticker === null) {
    ticker = setInterval(tick, TICK_MS);
    ticker.unref();
  }
}

export function untrack(t: Timed): void {
  const prev = t.prevTimed;
  if (prev === null) return;
  const next = t.nextTimed;
  prev.nextTimed = next;
  if (next !== null) next.prevTimed = prev;
  t.prevTimed = null;
  t.nextTimed = null;
  size--;
}

/** how many exchanges are being watched (tests) */
export function watched(): number {
  return size;
}

function tick(): void {
  if (size === 0) {
    clearInterval(ticker as NodeJS.Timeout);
    ticker = null;
    return;
  }
  const now = performance.now();
  let t = head.nextTimed;
  while (t !== null) {
    const next = t.nextTimed;
    if (!t.paused && now - t.lastActivity >= t.timeoutMs) {
      untrack(t);
      try {
        t.onDeadline();
      } catch {
        // an exchange's abort must not stop the others from being checked
      }
    }
    t = next;
  }
}
