/**
 * Just enough of a Dockerfile and .dockerignore reader for the deployment tests
 * (there is no Docker engine on the test machines): instructions per stage, with
 * line continuations and comments handled, and the allow-list form of
 * .dockerignore (`*` then `!path` lines).
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  readonly keyword: string;
  /** everything after the keyword */
  readonly args: string;
}

export interface Stage {
  readonly base: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

export interface CopyLine {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly dest: string;
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: { base: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s*(.*)$/s.exec(line);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    const args = (m[2] as string).replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      // eslint-disable-next-line security/detect-unsafe-regex -- anchored; \S+ and \s+ cannot overlap: linear, on our own Dockerfile
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot read FROM ${args}`);
      stages.push({ base: from[1] as string, name: from[2] ?? null, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

export function readDockerfile(path: string): Stage[] {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

export function copyLines(stage: Stage): CopyLine[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(' ');
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1) as string };
    });
}

/** the argument of a single instruction, e.g. USER, or null */
export function single(stage: Stage, keyword: string): string | null {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  return found.length === 0 ? null : (found.at(-1) as Instruction).args;
}

/** a JSON-form (exec form) argument list, e.g. CMD ["node", …] */
export function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form list: ${args}`);
  return parsed;
}

/**
 * Whether .dockerignore lets `path` (relative, no leading ./) into the build
 * context. Supports the allow-list form only: `*`, then `!name` lines naming
 * top-level files or directories; the last matching line wins.
 */
export function contextIncludes(dockerignore: string, path: string): boolean {
  const top = path.replace(/^\.\//, '').replace(/\/$/, '').split('/')[0] as string;
  let included = true;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, '');
    if (pattern.includes('/') || (pattern.includes('*') && pattern !== '*')) throw new Error(`.dockerignore pattern not understood by this reader: ${line}`);
    if (pattern === '*' || pattern === top) included = negated;
  }
  return included;
}
