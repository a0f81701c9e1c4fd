/**
 * Equal slices of CPU for the processes under test, by the kernel's CPU quota (cgroups):
 * issue #17's "2 workers on two cores ≥ 1.7× one worker" measured on a machine that has
 * only two cores for the workers, the load generator and the upstream together.
 *
 * Pinned to the two CPUs the load generator also runs on, two workers get whatever the
 * generator and the upstream leave them (docs/performance.md, round four: any Node proxy,
 * the Node floor included, reached 1.0–1.3× there). Here each worker process gets its own
 * CPU and a fixed share of it (40 % in the "2 workers" scenario: 4 ms of every 10 ms), and the load
 * generator and the upstream run on what is left of both. One worker on one slice against
 * two workers on two slices of the same size is the scaling the target asks about, with
 * "a core" made smaller so that the load side fits beside it.
 *
 * Needs a writable cgroup cpu controller (v1 `cpu.cfs_quota_us`, or v2 `cpu.max`), as root
 * has on most Linux machines outside a container; `unavailable()` says why not otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TASKSET } from './processes.ts';

const PERIOD_US = 10_000;

interface Hierarchy {
  readonly root: string;
  readonly version: 1 | 2;
}

function hierarchy(): Hierarchy | null {
  for (const root of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    if (existsSync(join(root, 'cpu.cfs_quota_us'))) return { root, version: 1 };
  }
  const v2 = '/sys/fs/cgroup';
  const controllers = join(v2, 'cgroup.controllers');
  if (existsSync(controllers) && /\bcpu\b/.test(readFileSync(controllers, 'utf8'))) return { root: v2, version: 2 };
  return null;
}

/** null when slices can be made here, else why not */
export function unavailable(): string | null {
  if (!TASKSET) return 'taskset is not installed';
  const h = hierarchy();
  if (h === null) return 'no cgroup cpu controller';
  const probe = join(h.root, `regentra-bench-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return null;
  } catch (err) {
    return `cannot create a cgroup (${(err as NodeJS.ErrnoException).code ?? String(err)}): run as root`;
  }
}

export interface Slices {
  /** put `pid` (all its threads) on CPU `cpu`, limited to the slice's share of it */
  place(pid: number, cpu: number): void;
  /** remove the groups (their processes must have exited) */
  remove(): void;
}

/** slices of `share` (0–1) of a CPU each; one group per process placed */
export function slices(share: number): Slices {
  const h = hierarchy();
  if (h === null) throw new Error('no cgroup cpu controller');
  const made: string[] = [];
  return {
    place(pid, cpu) {
      const dir = join(h.root, `regentra-bench-${process.pid}-${made.length}`);
      mkdirSync(dir);
      made.push(dir);
      const quota = Math.round(share * PERIOD_US);
      if (h.version === 1) {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      } else writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      execFileSync(TASKSET as string, ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
    },
    remove() {
      for (const dir of made.splice(0)) {
        try {
          rmdirSync(dir);
        } catch {
          // a process still in it: the kernel keeps the group until it exits
        }
      }
    },
  };
}

/** the child processes of `pid` (a cluster primary's workers) */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const listed = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (listed !== '') out.push(...listed.split(/\s+/).map(Number));
  }
  return out;
}
