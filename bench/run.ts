/**
 * The benchmark (`npm run bench`; not part of `npm test`). One table with every
 * row, the ratios, and a pass/fail against each target (docs/performance.md).
 *
 *   node bench/run.ts [--duration 5] [--warmup 5] [--rounds 3] [--back-to-back 12] [--paired 10]
 *                     [--connections 32]
 *                     [--only "small GET"] [--tool wrk|autocannon] [--no-peers]
 *                     [--profile] [--compare LABEL=DIR]…
 *
 * Servers run in child processes pinned to CPU 0 (the 2-worker gateway to CPUs 0-1);
 * the load generator (wrk when installed, autocannon otherwise), the upstream and
 * this process run on the other CPUs. nginx and Apache + mod_auth_openidc rows
 * appear when they are installed (`npm run bench:peers`).
 *
 * --profile writes a CPU profile of the 1-worker gateway to bench/profiles/ (open
 * it in Chrome DevTools or summarise it with `node bench/profile-summary.ts FILE`).
 * --compare LABEL=DIR adds a gateway row run from another checkout (its
 * bench/children/gateway.ts), to measure a change against its parent.
 *
 * --back-to-back: rounds of runs back to back (scenarios.ts backToBack()), the measure of
 * every ratio with a target since 4 Dec 2026 (round fourteen in docs/performance.md): each
 * server alone on its CPU, one after the other, the median of the ratios within a round.
 * Twelve: this machine's within-round ratios spread by about ±0.08, so the median of twelve
 * moves by about ±0.03.
 * --paired: paired runs (half with each server started first), printed beside the access-log
 * scenario's verdict only; the verdicts' measure until round fourteen.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuPlan, SCENARIOS, type BenchSettings, type Row, type Verdict } from './scenarios.ts';
import { fixed, formatTable, thousands } from './table.ts';
import { pinSelf, TASKSET } from './processes.ts';
import { WRK } from './load.ts';
import { APACHE_OIDC, NGINX } from './peers.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'back-to-back': { type: 'string', default: '12' },
    paired: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string', multiple: true },
    tool: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    compare: { type: 'string', multiple: true },
  },
});

const profileDir = fileURLToPath(new URL('./profiles/', import.meta.url));
if (values.profile) mkdirSync(profileDir, { recursive: true });
const plan = cpuPlan();
const compare = new Map<string, string>();
for (const c of values.compare ?? []) {
  const eq = c.indexOf('=');
  if (eq < 1) throw new Error(`--compare LABEL=DIR, not ${c}`);
  compare.set(c.slice(0, eq), c.slice(eq + 1).replace(/\/$/, ''));
}
const tool = values.tool === 'wrk' || values.tool === 'autocannon' ? values.tool : undefined;
const settings: BenchSettings = {
  connections: Number(values.connections),
  durationSeconds: Number(values.duration),
  warmupSeconds: Number(values.warmup),
  rounds: Number(values.rounds),
  backToBackRounds: Number(values['back-to-back']),
  pairedRounds: Number(values.paired),
  cpus: plan,
  tool,
  gatewayExecArgv: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  peers: !values['no-peers'],
  compare,
};
// the load generator's side (autocannon, the WebSocket client and the upstream run in or under this process)
if (plan.generator) pinSelf(plan.generator);

const cpu = cpus();
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const header =
  `Regentra Gateway benchmark — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}\n` +
  `load generator: ${tool ?? (WRK ? 'wrk' : 'autocannon')}, ${settings.connections} connections, keep-alive; ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s per run, ${settings.rounds} interleaved rounds, medians; ${settings.backToBackRounds} rounds back to back for the verdicts\n` +
  `CPUs: ${TASKSET && plan.server ? `servers on ${plan.server} (2-worker gateway on ${plan.server2}), load generator and upstream on ${plan.generator}` : 'not pinned (taskset missing or one CPU)'}\n` +
  `peers: nginx ${NGINX ? 'yes' : 'not installed'}, Apache + mod_auth_openidc ${APACHE_OIDC ? 'yes' : 'not installed'}${settings.peers ? '' : ' (skipped: --no-peers)'}; load average at start ${load}\n\n`;
process.stdout.write(header);

const rows: Row[] = [];
const verdicts: Verdict[] = [];
const notes: string[] = [];
for (const scenario of SCENARIOS) {
  if (values.only ? !values.only.includes(scenario.name) : scenario.onRequest === true) continue;
  process.stdout.write(`running "${scenario.name}" (${scenario.description})…\n`);
  const result = await scenario.run(settings);
  rows.push(...result.rows);
  verdicts.push(...result.verdicts);
  if (result.notes) notes.push(`${scenario.name}\n${result.notes}`);
}

const table = formatTable<Row>(
  [
    { title: 'scenario', value: (r) => r.scenario },
    { title: 'target', value: (r) => r.target },
    { title: 'req/s', value: (r) => thousands(r.result.rps), right: true },
    { title: 'req/CPU-s', value: (r) => thousands(r.result.perCpuSecond), right: true },
    { title: 'p50 ms', value: (r) => fixed(r.result.p50), right: true },
    { title: 'p99 ms', value: (r) => fixed(r.result.p99), right: true },
    { title: 'server CPU', value: (r) => fixed(r.result.cpuSeconds / settings.durationSeconds), right: true },
    { title: 'errors', value: (r) => String(r.result.errors + r.result.non2xx), right: true },
  ],
  rows,
);
const targets = formatTable<Verdict>(
  [
    { title: 'target', value: (v) => v.name },
    { title: 'measured', value: (v) => v.value, right: true },
    { title: 'goal', value: (v) => v.goal },
    { title: 'result', value: (v) => (v.pass === null ? '' : v.pass ? 'PASS' : 'FAIL') },
  ],
  verdicts,
);
process.stdout.write(
  `\n${header}${table}\n\n` +
    'req/s: requests per wall-clock second. req/CPU-s: requests per CPU-second the server used (its capacity per core; the\n' +
    'ratios "per core" compare these). server CPU: cores the server kept busy (below 1 for a 1-core server: the machine was busy).\n' +
    '"rounds back to back": each server alone on its CPU, one after the other, a round in seconds; the median of the ratios within a\n' +
    'round (see bench/scenarios.ts backToBack). "paired runs": two servers loaded at once on the same CPU (the measure until round fourteen).\n\n' +
    notes.map((n) => `${n}\n\n`).join('') +
    `${targets}\n` +
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
);
if (values.profile) process.stdout.write(`\nCPU profile of the gateway written to ${profileDir}\n`);
const failed = verdicts.filter((v) => v.pass === false).length;
process.exitCode = failed > 0 ? 1 : 0;
