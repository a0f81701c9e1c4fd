/**
 * Memory with many active sessions (issue #17, target 5): the gateway's resident set
 * after 100,000 requests that all carry the same session cookie, then after 100,000
 * requests that each carry a different session (100,000 distinct sessions, all seen
 * within the idle window). Every per-session cache (opened cookies, parsed Cookie
 * headers, refreshed cookies, revocation state, assertions, identity headers) is
 * bounded; this says what the bounds cost. Target: RSS(100,000) ≤ 2 × RSS(1).
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

export interface MemoryResult {
  /** resident set after the one-session load, MiB */
  readonly one: number;
  /** after the many-sessions load, MiB */
  readonly many: number;
  /** the same two after a full garbage collection (what is retained, not what the load left to collect) */
  readonly oneCollected: number;
  readonly manyCollected: number;
  /** the JavaScript heap in use after those collections, MiB: the part that is the sessions' own */
  readonly oneHeap: number;
  readonly manyHeap: number;
  readonly sessions: number;
  readonly failures: number;
}

const MiB = 1024 * 1024;

/** VmRSS of `pid` in MiB (NaN without /proc) */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** send one GET per cookie (32 at a time); the number of answers that were not 200 */
async function load(url: string, host: string, path: string, cookies: readonly string[]): Promise<number> {
  const pool = new Pool(url, { connections: 32 });
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < cookies.length) {
      const cookie = cookies[next++] as string;
      const res = await pool.request({ path, method: 'GET', headers: { host, cookie } });
      await res.body.dump();
      if (res.statusCode !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await pool.close();
  return failures;
}

export async function measureSessionsMemory(
  target: { url: string; pid: number; headers(): Promise<Record<string, string>>; ask<A>(q: string): Promise<A> },
  path: string,
  sessions = 100_000,
): Promise<MemoryResult> {
  const { host, cookie } = (await target.headers()) as { host: string; cookie: string };
  // the gateway child seals the cookies: before either measurement, so that both include what that left
  // behind (in batches: one IPC message of 100,000 cookies is 30 MB of JSON)
  const many: string[] = [];
  for (let i = 0; i < sessions; i += 10_000) many.push(...(await target.ask<string[]>(`cookies ${Math.min(10_000, sessions - i)}`)));
  let failures = await load(
    target.url,
    host,
    path,
    Array.from({ length: sessions }, () => cookie),
  );
  const one = rssMiB(target.pid);
  const oneHeap = (await target.ask<number>('gc')) / MiB;
  const oneCollected = rssMiB(target.pid);
  failures += await load(target.url, host, path, many);
  const manyRss = rssMiB(target.pid);
  const manyHeap = (await target.ask<number>('gc')) / MiB;
  return { one, many: manyRss, oneCollected, manyCollected: rssMiB(target.pid), oneHeap, manyHeap, sessions, failures };
}
