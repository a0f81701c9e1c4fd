/**
 * Summarise a .cpuprofile (from `node bench/run.ts --profile`): self time by
 * function and by where the code lives (a package, the gateway's own files, node).
 *
 *   node bench/profile-summary.ts bench/profiles/CPU.….cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fixed, formatTable } from './table.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
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
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
// percentages are of busy time: the idle node is left out
const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
for (const id of idle) self.delete(id);
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** where a frame's code lives */
function area(url: string): string {
  if (url === '') return '(native / gc / idle)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const own = /\/(src\/[^?]+)/.exec(url);
  return own ? (own[1] as string) : url;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

const fns = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id);
  if (!n) continue;
  const where = area(n.callFrame.url);
  add(fns, `${n.callFrame.functionName || '(anonymous)'}  ${where}:${n.callFrame.lineNumber + 1}`, us);
  add(areas, where, us);
}

const top = Number(values.top);
const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
const pct = (us: number) => `${fixed((100 * us) / total, 1)} %`;
process.stdout.write(`${file}: ${fixed(total / 1e6, 2)} s busy\n\nself time by area\n`);
process.stdout.write(`${formatTable<[string, number]>([{ title: 'area', value: (r) => r[0] }, { title: 'self', value: (r) => pct(r[1]), right: true }], rows(areas))}\n\n`);
process.stdout.write(`self time by function\n${formatTable<[string, number]>([{ title: 'function', value: (r) => r[0] }, { title: 'self', value: (r) => pct(r[1]), right: true }], rows(fns))}\n`);
