/**
 * Servers under test run in child processes (one event loop each, apart from the
 * load generator's). A child reports `{ ready: { url, … } }` over IPC once listening
 * and exits on SIGTERM.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child<T extends { url: string }> {
  readonly info: T;
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] */
  readonly execArgv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export function startChild<T extends { url: string }>(script: string, args: readonly string[] = [], options: ChildOptions = {}): Promise<Child<T>> {
  const path = fileURLToPath(new URL(`./children/${script}`, import.meta.url));
  const child: ChildProcess = fork(path, [...args], {
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
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
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** For children: report readiness and exit cleanly on SIGTERM (so --cpu-prof profiles are written). */
export function ready(info: { url: string } & Record<string, unknown>, close: () => Promise<void>): void {
  process.send?.({ ready: info });
  process.once('SIGTERM', () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.once('disconnect', () => void close().finally(() => process.exit(0)));
}
