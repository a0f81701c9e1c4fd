/**
 * The benchmark (`npm run bench`; not part of `npm test`).
 *
 *   node bench/run.ts [--duration 10] [--warmup 3] [--connections 32] [--only "small GET"] [--profile]
 *
 * Every server runs in its own child process, apart from autocannon's event loop.
 * --profile writes a CPU profile of the gateway child to bench/profiles/ (open it
 * in Chrome DevTools or summarise it with `node bench/profile-summary.ts FILE`).
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCENARIOS, type BenchSettings, type Row, type Verdict } from './scenarios.ts';
import { fixed, formatTable, thousands } from './table.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});

const profileDir = fileURLToPath(new URL('./profiles/', import.meta.url));
if (values.profile) mkdirSync(profileDir, { recursive: true });
const settings: BenchSettings = {
  connections: Number(values.connections),
  durationSeconds: Number(values.duration),
  warmupSeconds: Number(values.warmup),
  gatewayExecArgv: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
};

const cpu = cpus();
process.stdout.write(
  `Regentra Gateway benchmark — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}\n` +
    `${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s per row, keep-alive\n\n`,
);

const rows: Row[] = [];
const verdicts: Verdict[] = [];
for (const scenario of SCENARIOS) {
  if (values.only && scenario.name !== values.only) continue;
  process.stdout.write(`running "${scenario.name}" (${scenario.description})…\n`);
  const result = await scenario.run(settings);
  rows.push(...result.rows);
  verdicts.push(...result.verdicts.map((v) => ({ ...v, name: `${scenario.name}: ${v.name}` })));
}

process.stdout.write(`\n${formatTable<Row>([
  { title: 'scenario', value: (r) => r.scenario },
  { title: 'target', value: (r) => r.target },
  { title: 'req/s', value: (r) => thousands(r.result.rps), right: true },
  { title: 'p50 ms', value: (r) => fixed(r.result.p50), right: true },
  { title: 'p99 ms', value: (r) => fixed(r.result.p99), right: true },
  { title: 'requests', value: (r) => thousands(r.result.requests), right: true },
  { title: 'errors', value: (r) => String(r.result.errors + r.result.non2xx), right: true },
], rows)}\n\n`);

process.stdout.write(`${formatTable<Verdict>([
  { title: 'target', value: (v) => v.name },
  { title: 'measured', value: (v) => v.value, right: true },
  { title: 'goal', value: (v) => v.goal },
  { title: 'result', value: (v) => (v.pass ? 'PASS' : 'FAIL') },
], verdicts)}\n`);
if (values.profile) process.stdout.write(`\nCPU profile of the gateway written to ${profileDir}\n`);
