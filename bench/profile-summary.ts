/**
 * Summarise a .cpuprofile (from `node bench/run.ts --profile`): where the time of
 * a proxied request goes, by stage (each sample is charged to the innermost frame
 * that belongs to a stage: a socket write made by the proxy engine is the engine's,
 * a JSON.parse made while opening the session cookie is the cookie's), then self
 * time by package or file and by function. Start-up (module loading, plugin
 * registration) and idle time are left out of the percentages.
 *
 *   node bench/profile-summary.ts bench/profiles/CPU.….cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fixed, formatTable } from './table.ts';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
const file = positionals[0];
if (!file) throw new Error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** where a frame's code lives */
function area(url: string): string {
  if (url === '') return '(native / gc)';
  if (url.startsWith('node:')) return 'node core';
  // eslint-disable-next-line security/detect-unsafe-regex -- [^/]+ runs stop at the '/' that follows: linear, on profile URLs
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const own = /\/((?:src|bench)\/[^?]+)/.exec(url);
  return own ? (own[1] as string) : url;
}

/** stages, in the order a request meets them; a frame belongs to the first that matches */
const STAGES: readonly (readonly [stage: string, test: (f: CallFrame, where: string) => boolean])[] = [
  ['logging (pino child logger per request)', (_f, w) => w === 'pino' || w.startsWith('@pinojs/') || w === 'src/ops/logger.ts'],
  ['metrics (prom-client)', (_f, w) => w === 'prom-client' || w === 'src/ops/metrics.ts'],
  ['session cookie: parse and decrypt', (_f, w) => w === '@fastify/secure-session' || w === 'sodium-native' || w === '@fastify/cookie' || w === 'cookie'],
  ['session checks (binding, expiry, revocation)', (_f, w) => w.startsWith('src/session/') || w === 'lru-cache'],
  ['identity assertion (JWT, cached)', (_f, w) => w === 'src/identity/signer.ts' || w === 'jose'],
  ['headers: strip and inject, both ways', (_f, w) => w === 'src/proxy/headers.ts' || w === 'src/identity/headers.ts'],
  [
    'proxy engine (undici, forward/tunnel)',
    (_f, w) =>
      w === 'undici' ||
      w === 'src/proxy/forward.ts' ||
      w === 'src/proxy/tunnel.ts' ||
      w === 'src/proxy/upstreams.ts' ||
      w.startsWith('@fastify/reply-from') ||
      w.startsWith('@fastify/http-proxy') ||
      w === 'ws',
  ],
  ['gate (public path / session / assertion)', (_f, w) => w === 'src/proxy/plugin.ts'],
  ['host and path routing', (_f, w) => w.startsWith('src/routing/') || w === 'src/app.ts' || w === 'find-my-way'],
  ['switchboard (reload-safe listener)', (_f, w) => w === 'src/runtime/reload.ts'],
  ['Fastify request lifecycle', (_f, w) => w === 'fastify' || w === 'fastify-plugin' || w === 'avvio' || w.startsWith('@fastify/')],
];
const STARTUP =
  /^(compileSourceTextModule|wrapSafe|compileForInternalLoader|loadESM|link|instantiate|evaluate|ModuleJob|require|__require|Module\._compile|Boot\._loadPlugin|Plugin\.exec|buildApp|loadConfigObject|openStore|migrate)$/;

function stageOf(leaf: number): string {
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    if (STARTUP.test((byId.get(id) as ProfileNode).callFrame.functionName)) return '(start-up)';
  }
  let isGc = false;
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id) as ProfileNode;
    const f = n.callFrame;
    if (id === leaf) {
      if (f.functionName === '(idle)') return '(idle)';
      if (f.functionName === '(garbage collector)') isGc = true;
      if (f.functionName === '(program)') return 'node / V8 internals (program)';
    }
    if (isGc) continue;
    const where = area(f.url);
    for (const [stage, test] of STAGES) if (test(f, where)) return stage;
  }
  return isGc ? 'garbage collection' : 'node HTTP server and sockets (no stage above)';
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

const stages = new Map<string, number>();
const fns = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, us] of self) {
  const stage = stageOf(id);
  add(stages, stage, us);
  if (stage === '(idle)' || stage === '(start-up)') continue;
  const n = byId.get(id) as ProfileNode;
  const where = area(n.callFrame.url);
  add(fns, `${n.callFrame.functionName || '(anonymous)'}  ${where}:${n.callFrame.lineNumber + 1}`, us);
  add(areas, where, us);
}
const excluded = (stages.get('(idle)') ?? 0) + (stages.get('(start-up)') ?? 0);
const busy = [...stages.values()].reduce((a, b) => a + b, 0) - excluded;

const top = Number(values.top);
const rows = (m: Map<string, number>, n = top) =>
  [...m]
    .filter(([k]) => k !== '(idle)' && k !== '(start-up)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
const pct = (us: number) => `${fixed((100 * us) / busy, 1)} %`;
const table = (title: string, m: Map<string, number>, n?: number) =>
  `${formatTable<[string, number]>(
    [
      { title, value: (r) => r[0] },
      { title: 'share', value: (r) => pct(r[1]), right: true },
    ],
    rows(m, n),
  )}\n\n`;
process.stdout.write(
  `${file}\n${fixed(busy / 1e6, 2)} s handling requests (left out: ${fixed((stages.get('(start-up)') ?? 0) / 1e6, 2)} s start-up, ${fixed((stages.get('(idle)') ?? 0) / 1e6, 2)} s idle)\n\n` +
    table('by stage', stages, 50) +
    table('self time by package / file', areas) +
    table('self time by function', fns),
);
