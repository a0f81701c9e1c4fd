/**
 * Servers under test run in child processes (one event loop each, apart from the
 * load generator's), optionally pinned to CPUs with taskset. A Node child reports
 * `{ ready: { url, … } }` over IPC once listening, answers `{ ask }` messages with
 * `{ answer }` (e.g. a fresh session cookie), and exits on SIGTERM.
 *
 * CPU time is read from /proc for a child and all its descendants (cluster
 * workers, nginx and Apache worker processes), so that throughput can be given
 * per CPU-second as well as per wall-clock second.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../src/runtime/node-flags.ts';

export interface Child<T extends { url: string }> {
  readonly info: T;
  readonly pid: number;
  /** send `{ ask: question }` and wait for the child's `{ answer }` */
  ask<A>(question: string): Promise<A>;
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] */
  readonly execArgv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** taskset CPU list (e.g. "0" or "0,1"); ignored without taskset */
  readonly cpus?: string;
  /** discard the child's stdout (log lines) */
  readonly quiet?: boolean;
}

/** `which` without a shell */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = `${dir}/${name}`;
    if (existsSync(p)) return p;
  }
  return null;
}

export const TASKSET = findExecutable('taskset');

/** `cmd args` pinned to `cpus` when taskset is there */
export function pinned(cmd: string, args: readonly string[], cpus: string | undefined): [string, string[]] {
  return TASKSET && cpus ? [TASKSET, ['-c', cpus, cmd, ...args]] : [cmd, [...args]];
}

/** pin this process (all its threads) to `cpus` */
export function pinSelf(cpus: string): void {
  if (TASKSET) execFileSync(TASKSET, ['-a', '-cp', cpus, String(process.pid)], { stdio: 'ignore' });
}

export function startChild<T extends { url: string }>(script: string, args: readonly string[] = [], options: ChildOptions = {}): Promise<Child<T>> {
  // a file in ./children, or an absolute path (another checkout's child, for comparisons)
  const path = script.startsWith('/') ? script : fileURLToPath(new URL(`./children/${script}`, import.meta.url));
  const pin =
    TASKSET && options.cpus
      ? { execPath: TASKSET, execArgv: ['-c', options.cpus, process.execPath, ...(options.execArgv ?? [])] }
      : { execArgv: [...(options.execArgv ?? [])] };
  const child: ChildProcess = fork(path, [...args], {
    ...pin,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit', 'ipc'],
  });
  let asked = 0;
  const waiting = new Map<number, (answer: unknown) => void>();
  child.on('message', (msg: { answer?: unknown; id?: number }) => {
    if (msg.id !== undefined && waiting.has(msg.id)) {
      waiting.get(msg.id)?.(msg.answer);
      waiting.delete(msg.id);
    }
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code} before it was ready`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (msg: { ready?: T }) => {
      if (!msg.ready) return reject(new Error(`${script}: unexpected message ${JSON.stringify(msg)}`));
      child.off('exit', onExit);
      resolve({
        info: msg.ready,
        pid: child.pid as number,
        ask: <A>(question: string) =>
          new Promise<A>((done) => {
            const id = ++asked;
            waiting.set(id, done as (a: unknown) => void);
            child.send({ ask: question, id });
          }),
        stop: () => stopProcess(child),
      });
    });
  });
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill(signal);
  });
}

/** Start a non-Node server (nginx, Apache) pinned to `cpus`; resolves once `isUp()` holds. */
export async function startServer(
  cmd: string,
  args: readonly string[],
  cpus: string | undefined,
  isUp: () => Promise<boolean>,
  name: string,
): Promise<{ pid: number; stop(): Promise<void> }> {
  const [c, a] = pinned(cmd, args, cpus);
  const child = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await isUp())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start: ${stderr.trim().slice(0, 2000) || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid as number, stop: () => stopProcess(child) };
}

/** For children: report readiness, answer questions, exit cleanly on SIGTERM (so --cpu-prof profiles are written). */
export function ready(info: { url: string } & Record<string, unknown>, close: () => Promise<void>, answer?: (question: string) => unknown): void {
  process.send?.({ ready: info });
  process.on('message', (msg: { ask?: string; id?: number }) => {
    if (msg.ask === undefined) return;
    void Promise.resolve(answer?.(msg.ask)).then((a) => process.send?.({ answer: a, id: msg.id }));
  });
  process.once('SIGTERM', () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.once('disconnect', () => void close().finally(() => process.exit(0)));
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) used so far by `root` and every process below it; NaN without /proc */
export function treeCpuSeconds(root: number): number {
  if (!existsSync('/proc/self/stat')) return Number.NaN;
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // the command name may contain spaces and parentheses: fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 0; p = parent.get(p)) {
      if (p === root) {
        total += t;
        break;
      }
    }
  }
  return total / CLK_TCK;
}

/**
 * The Node.js flags a gateway checkout is started with, as its launchers start it: this
 * checkout's NODE_FLAGS, or another checkout's own (`dir`, for --compare; none before
 * src/runtime/node-flags.ts existed).
 */
export async function checkoutNodeFlags(dir?: string): Promise<readonly string[]> {
  if (dir === undefined) return NODE_FLAGS;
  return import(`${dir.replace(/\/$/, '')}/src/runtime/node-flags.ts`).then(
    (m: { NODE_FLAGS: readonly string[] }) => m.NODE_FLAGS,
    () => [],
  );
}
