/**
 * `npm test`'s runner: node:test over every test file, one file at a time, with the
 * limits that keep a failing test from hanging CI:
 *
 * - every test and hook has a time limit (TEST_TIMEOUT_MS);
 * - a file's process is ended once its tests are done, even if a failed `before` left a
 *   server open (forceExit: without it, one failed browser test kept a file alive for
 *   13 minutes);
 * - a whole file has a time limit too (FILE_LIMIT_MS): past it the run is aborted and
 *   fails, naming the file;
 * - at the end, the slowest files, so a slow suite shows where its time goes.
 *
 * Usage: node test/run.ts [--soak] [glob …]   (default: test/**\/*.test.ts)
 */
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { glob } from 'node:fs/promises';
import { relative } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { NODE_FLAGS } from '../src/runtime/node-flags.ts';

const args = process.argv.slice(2);
const soak = args.includes('--soak');
const patterns = args.filter((a) => !a.startsWith('--'));
const TEST_TIMEOUT_MS = soak ? 3_600_000 : 120_000;
const FILE_LIMIT_MS = soak ? 4 * 3_600_000 : 10 * 60_000;
const SLOWEST = 10;

const files: string[] = [];
for (const pattern of patterns.length > 0 ? patterns : ['test/**/*.test.ts']) {
  for await (const f of glob(pattern)) files.push(f);
}
files.sort();
if (files.length === 0) {
  process.stderr.write(`no test files match ${patterns.join(' ')}\n`);
  process.exit(1);
}

const abort = new AbortController();
const durations = new Map<string, number>();
let current: { file: string; startedAt: number } | null = null;
let overrun: string | null = null;
const watchdog = setInterval(() => {
  if (current && Date.now() - current.startedAt > FILE_LIMIT_MS && overrun === null) {
    overrun = current.file;
    abort.abort();
  }
}, 1_000);
watchdog.unref();

interface TestEvent {
  readonly type: string;
  readonly data: {
    readonly file?: string;
    readonly counts?: { readonly passed: number; readonly failed: number; readonly cancelled: number; readonly skipped: number; readonly todo: number };
  };
}

/** the whole run's counts (the summary event without a file) */
let totals: NonNullable<TestEvent['data']['counts']> | null = null;

/** files run one at a time: a file's time is from its first event to the next file's */
function finishFile(): void {
  if (current) durations.set(current.file, (durations.get(current.file) ?? 0) + Date.now() - current.startedAt);
  current = null;
}

/** follows which file runs (for the watchdog) and how long each took */
const observe = new Transform({
  objectMode: true,
  transform(event: TestEvent, _enc: BufferEncoding, done: TransformCallback) {
    const file = event.data.file;
    if (file !== undefined && current?.file !== file && event.type !== 'test:enqueue') {
      finishFile();
      current = { file, startedAt: Date.now() };
    }
    if (event.type === 'test:fail') process.exitCode = 1;
    if (event.type === 'test:summary' && file === undefined && event.data.counts) totals = event.data.counts;
    done(null, event);
  },
});

const stream = run({
  files,
  concurrency: 1,
  timeout: TEST_TIMEOUT_MS,
  forceExit: true,
  signal: abort.signal,
  execArgv: [...NODE_FLAGS],
});
const reporter = stream.pipe(observe).compose(spec);
reporter.pipe(process.stdout, { end: false });
reporter.on('end', () => {
  clearInterval(watchdog);
  finishFile();
  const slow = [...durations].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST);
  const total = [...durations.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`\nslowest test files (of ${durations.size}, ${(total / 1000).toFixed(0)} s in all):\n`);
  for (const [file, ms] of slow) process.stdout.write(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${relative(process.cwd(), file)}\n`);
  if (overrun !== null) {
    process.stdout.write(`\n${relative(process.cwd(), overrun)} ran longer than ${FILE_LIMIT_MS / 60_000} minutes: the run was stopped\n`);
    process.exitCode = 1;
  }
  // the plain closing line CI reads (the spec reporter's summary is above the slowest files)
  const t = totals ?? { passed: 0, failed: 1, cancelled: 0, skipped: 0, todo: 0 };
  if (t.cancelled > 0) process.exitCode = 1;
  process.stdout.write(`\n${t.passed} passed, ${t.failed + t.cancelled} failed, ${t.skipped + t.todo} skipped\n`);
});
