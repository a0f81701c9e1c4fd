/**
 * The plan of the house, checked: src/ is a set of rooms (its folders, and the few files at
 * its top) on floors, and an import may only run to the same room or down to a lower floor.
 * A loop between files, or an arrow that runs back up, fails here with the file, the line
 * and the rule, so the import map stays what docs and reviews say it is.
 *
 * Imports are read with TypeScript's own pre-processor (static, type-only, re-exports and
 * dynamic `import()`); a type-only import counts too: it is still a dependency on a
 * declaration in that room.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Floors, lowest first. A room may import its own floor and any floor below; never one
 * above. (Rooms that share a floor may use each other; the file-loop test below keeps
 * that from turning into a loop.)
 */
export const FLOORS: readonly (readonly string[])[] = [
  ['errors'], // the error catalogue and the coded-error base
  ['util'], // constant-time compare, keys, caches, certificates, the library patches
  ['config'], // the validated, frozen configuration
  ['store'], // the store contract and its engines
  ['ops'], // logger, metrics, audit, the instrumented store: usable by everything above
  ['routing'], // host → site, the canonical path, reserved paths
  ['session', 'pages'], // cookie sessions; page rendering and error pages
  ['identity'], // the signed identity JWT (reads a session)
  ['settings'], // the stored settings: types, zod schemas, the one read/write path
  ['core', 'auth', 'proxy'], // the core record buildApp builds, the sign-in services and policy, the gate and proxy
  ['admin'], // the settings pages
  ['account'], // a person's own pages (uses the admin pages' form and CSRF helpers)
  ['app'], // buildApp
  ['runtime', 'cli'], // the process (serve, reload, cluster); the command line
  ['main'], // the entry point
];

function roomOf(file: string): string {
  const parts = file.split('/'); // src/<room>/... or src/<room>.ts
  return parts.length > 2 ? (parts[1] as string) : (parts[1] as string).replace(/\.ts$/, '');
}

function floorOf(room: string): number {
  const i = FLOORS.findIndex((rooms) => rooms.includes(room));
  return i;
}

interface Arrow {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

async function importMap(): Promise<{ files: string[]; arrows: Arrow[] }> {
  const files: string[] = [];
  for await (const f of glob('src/**/*.ts', { cwd: ROOT })) files.push(f.split('\\').join('/'));
  files.sort();
  const arrows: Arrow[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // a package
      const to = normalize(join(dirname(file), ref.fileName))
        .split('\\')
        .join('/');
      const line = text.slice(0, ref.pos).split('\n').length;
      arrows.push({ from: file, to, line });
    }
  }
  return { files, arrows };
}

test('every room of src/ is on a floor of the plan', async () => {
  const { files } = await importMap();
  const unplaced = [...new Set(files.map(roomOf))].filter((room) => floorOf(room) < 0);
  assert.deepEqual(unplaced, [], `rooms not in FLOORS (test/architecture/imports.test.ts): ${unplaced.join(', ')}`);
});

test('no import runs back up a floor', async () => {
  const { arrows } = await importMap();
  const wrong: string[] = [];
  for (const a of arrows) {
    if (!a.to.startsWith('src/')) continue;
    const from = roomOf(a.from);
    const to = roomOf(a.to);
    if (from === to) continue;
    const f = floorOf(from);
    const t = floorOf(to);
    if (f < 0 || t < 0) continue; // reported by the test above
    if (t > f) wrong.push(`${a.from}:${a.line} → ${a.to} (${from} on floor ${f} may not import ${to} on floor ${t})`);
  }
  assert.deepEqual(wrong, [], `imports against the plan:\n  ${wrong.join('\n  ')}`);
});

test('no loop between files', async () => {
  const { files, arrows } = await importMap();
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const a of arrows) if (next.has(a.to)) next.get(a.from)?.push(a.to);
  // Tarjan's strongly connected components, iteratively (no recursion limit on a deep chain)
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  for (const start of files) {
    if (idx.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1] as { v: string; i: number };
      const succ = next.get(top.v) ?? [];
      if (top.i < succ.length) {
        const w = succ[top.i++] as string;
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v) as number, idx.get(w) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v) as number, low.get(top.v) as number));
      if (low.get(top.v) === idx.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        if (comp.length > 1) loops.push(comp.sort());
      }
    }
  }
  assert.deepEqual(loops, [], `import loops:\n  ${loops.map((l) => l.join(' ↔ ')).join('\n  ')}`);
});

test('the checker sees an arrow that runs back up (it can fail)', async () => {
  const { arrows } = await importMap();
  // buildApp imports the proxy plugin: app is above proxy, so the reverse would be refused
  const down = arrows.find((a) => a.from === 'src/app.ts' && roomOf(a.to) === 'proxy');
  assert.ok(down, 'src/app.ts imports from src/proxy/');
  assert.ok(floorOf('proxy') < floorOf('app'));
  assert.equal(relative(ROOT, join(ROOT, 'src/app.ts')), 'src/app.ts');
});

test('stored settings are read and written only through src/settings/ (one path, one schema each)', async () => {
  const { files } = await importMap();
  const direct: string[] = [];
  for (const file of files) {
    if (file.startsWith('src/store/') || file.startsWith('src/settings/') || file === 'src/ops/instrumented-store.ts') continue;
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/\.(getSetting|putSetting)\b/.test(line)) direct.push(`${file}:${i + 1}`);
    });
  }
  assert.deepEqual(direct, [], `Store.getSetting/putSetting called outside src/settings/store.ts:\n  ${direct.join('\n  ')}`);
});
