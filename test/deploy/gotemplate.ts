/**
 * A small renderer for the Go text/template constructs and the Helm/Sprig
 * functions that helm/regentra-gateway uses, so that the chart can be checked
 * without a helm binary. It follows Go's rules where a difference would hide a
 * bug: `{{-`/`-}}` trimming, truthiness, nil field access is an error, numbers
 * print like Go's %v for float64 (1e+06), maps and lists cannot be printed,
 * `eq` refuses mixed types, unknown functions and templates are errors.
 * It does not implement what the chart does not use (block, break, else with,
 * tpl, lookup, most of Sprig).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { TemplateError, type Chart, type Command, type Node, type Operand, type Pipe } from './gotemplate-parse.ts';

export { addTemplate, newChart, TemplateError, type Chart } from './gotemplate-parse.ts';

// ---- values and functions -------------------------------------------------

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v for a float64 (Helm values are float64): shortest digits, exponent form from 1e+06 */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 6) {
    const [mant, e] = n.toExponential().split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[-+]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  return String(n);
}

function show(v: unknown, where: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  throw new TemplateError(`${where}: prints a ${Array.isArray(v) ? 'list' : 'map'} (use toYaml)`);
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function sprintf(format: string, args: unknown[], where: string): string {
  let n = 0;
  return format.replace(/%([sdvq%])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    const a = args[n++];
    if (verb === 'd') {
      if (typeof a !== 'number' || !Number.isInteger(a)) throw new TemplateError(`${where}: %d given ${JSON.stringify(a)}`);
      return String(a);
    }
    if (verb === 'q') return goQuote(show(a, where));
    return show(a, where);
  });
}

function typeOf(v: unknown): string {
  return v === null || v === undefined ? 'nil' : Array.isArray(v) ? 'list' : typeof v;
}

type Fn = (args: unknown[], where: string) => unknown;

/** the functions this renderer implements (Go builtins, Sprig and Helm); include is added per render */
const FUNCTIONS: Readonly<Record<string, Fn>> = Object.freeze({
  toYaml: ([v]) => (v === null || v === undefined ? 'null' : stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '')),
  nindent: ([n, s], w) => `\n${FUNCTIONS.indent!([n, s], w) as string}`,
  indent: ([n, s]) => {
    const pad = ' '.repeat(Number(n));
    return pad + String(s ?? '').replaceAll('\n', `\n${pad}`);
  },
  quote: (args, w) =>
    args
      .filter((a) => a !== null && a !== undefined)
      .map((a) => goQuote(show(a, w)))
      .join(' '),
  default: ([def, ...given]) => (given.length === 0 || !truthy(given[0]) ? def : given[0]),
  trunc: ([n, s]) => String(s).slice(0, Number(n)),
  trimSuffix: ([suffix, s]) => (String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length || undefined) : String(s)),
  contains: ([sub, s]) => String(s).includes(String(sub)),
  replace: ([from, to, s]) => String(s).replaceAll(String(from), String(to)),
  printf: ([format, ...args], w) => sprintf(String(format), args, w),
  print: (args, w) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + show(a, w)).join(''),
  sha256sum: ([s]) => createHash('sha256').update(String(s)).digest('hex'),
  eq: ([a, ...bs], w) =>
    bs.some((b) => {
      if (typeOf(a) !== typeOf(b) || typeOf(a) === 'nil') throw new TemplateError(`${w}: eq: incompatible types for comparison (${typeOf(a)}, ${typeOf(b)})`);
      return a === b;
    }),
  ne: ([a, b], w) => !(FUNCTIONS.eq!([a, b], w) as boolean),
  not: ([a]) => !truthy(a),
  gt: ([a, b], w) => {
    if (typeof a !== 'number' || typeof b !== 'number') throw new TemplateError(`${w}: gt: incompatible types (${typeOf(a)}, ${typeOf(b)})`);
    return a > b;
  },
  int: ([a]) => (typeof a === 'number' ? Math.trunc(a) : typeof a === 'string' && /^-?\d+$/.test(a) ? Number(a) : 0),
  dict: (args, w) => {
    if (args.length % 2 !== 0) throw new TemplateError(`${w}: dict needs key/value pairs`);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i += 2) out[String(args[i])] = args[i + 1];
    return out;
  },
  omit: ([d, ...keys], w) => {
    if (!isMap(d)) throw new TemplateError(`${w}: omit needs a map`);
    return Object.fromEntries(Object.entries(d).filter(([k]) => !keys.includes(k)));
  },
  // and/or are evaluated lazily in evalCommand; listed here so they count as known
  and: () => undefined,
  or: () => undefined,
});

export const KNOWN_FUNCTIONS: ReadonlySet<string> = new Set([...Object.keys(FUNCTIONS), 'include']);

// ---- evaluation -------------------------------------------------------------

type Vars = Map<string, unknown>[];

function lookup(vars: Vars, name: string, where: string): unknown {
  for (let i = vars.length - 1; i >= 0; i--) if ((vars[i] as Map<string, unknown>).has(name)) return (vars[i] as Map<string, unknown>).get(name);
  throw new TemplateError(`${where}: undefined variable ${name}`);
}

function walk(base: unknown, path: readonly string[], where: string): unknown {
  let v = base;
  for (let i = 0; i < path.length; i++) {
    if (v === null || v === undefined) throw new TemplateError(`${where}: nil pointer evaluating .${path.slice(0, i + 1).join('.')}`);
    if (!isMap(v)) throw new TemplateError(`${where}: can't evaluate field ${path[i]} in a ${typeOf(v)}`);
    v = v[path[i] as string];
  }
  return v;
}

class Renderer {
  private depth = 0;
  private readonly chart: Chart;
  constructor(chart: Chart) {
    this.chart = chart;
  }

  render(name: string, dot: unknown): string {
    const nodes = this.chart.templates.get(name);
    if (!nodes) throw new TemplateError(`no template "${name}"`);
    if (++this.depth > 50) throw new TemplateError(`template recursion too deep at "${name}"`);
    try {
      return this.nodes(nodes, dot, [new Map([['$', dot]])], name);
    } finally {
      this.depth--;
    }
  }

  private nodes(nodes: readonly Node[], dot: unknown, vars: Vars, where: string): string {
    let out = '';
    for (const node of nodes) {
      switch (node.k) {
        case 'text':
          out += node.v;
          break;
        case 'print': {
          const v = this.pipe(node.pipe, dot, vars, where);
          if (node.pipe.decl.length === 0) out += show(v, where);
          break;
        }
        case 'if': {
          const branch = node.branches.find((b) => truthy(this.pipe(b.pipe, dot, vars, where)));
          out += this.nodes(branch ? branch.body : node.otherwise, dot, [...vars, new Map()], where);
          break;
        }
        case 'with': {
          const v = this.pipe(node.pipe, dot, vars, where);
          out += truthy(v) ? this.nodes(node.body, v, [...vars, new Map()], where) : this.nodes(node.otherwise, dot, [...vars, new Map()], where);
          break;
        }
        case 'range': {
          const v = this.pipe({ ...node.pipe, decl: [] }, dot, vars, where);
          const entries: [unknown, unknown][] = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : isMap(v)
              ? Object.keys(v)
                  .sort()
                  .map((k) => [k, v[k]])
              : v === null || v === undefined
                ? []
                : (() => {
                    throw new TemplateError(`${where}: range over a ${typeOf(v)}`);
                  })();
          if (entries.length === 0) out += this.nodes(node.otherwise, dot, [...vars, new Map()], where);
          for (const [key, value] of entries) {
            const frame = new Map<string, unknown>();
            const [first, second] = node.pipe.decl;
            if (second !== undefined) frame.set(first as string, key).set(second, value);
            else if (first !== undefined) frame.set(first, value);
            out += this.nodes(node.body, value, [...vars, frame], where);
          }
          break;
        }
        case 'template':
          out += this.render(node.name, node.pipe ? this.pipe(node.pipe, dot, vars, where) : null);
          break;
      }
    }
    return out;
  }

  private pipe(pipe: Pipe, dot: unknown, vars: Vars, where: string): unknown {
    let value: unknown;
    let piped = false;
    for (const cmd of pipe.cmds) {
      value = this.command(cmd, dot, vars, where, piped ? { value } : null);
      piped = true;
    }
    if (pipe.decl.length === 1) (vars.at(-1) as Map<string, unknown>).set(pipe.decl[0] as string, value);
    return value;
  }

  private command(cmd: Command, dot: unknown, vars: Vars, where: string, piped: { value: unknown } | null): unknown {
    const [head, ...rest] = cmd as [Operand, ...Operand[]];
    if (head.k !== 'ident') {
      if (rest.length > 0 || piped) throw new TemplateError(`${where}: can't give an argument to a non-function`);
      return this.operand(head, dot, vars, where);
    }
    const args = rest.map((op) => () => this.operand(op, dot, vars, where));
    if (piped) args.push(() => piped.value);
    if (head.name === 'and' || head.name === 'or') {
      let v: unknown;
      for (const arg of args) {
        v = arg();
        if (truthy(v) === (head.name === 'or')) return v;
      }
      return v;
    }
    if (head.name === 'include') {
      const [name, data] = args.map((a) => a());
      return this.render(String(name), data);
    }
    const fn = FUNCTIONS[head.name];
    if (!fn) throw new TemplateError(`${where}: function "${head.name}" not defined`);
    return fn(
      args.map((a) => a()),
      where,
    );
  }

  private operand(op: Operand, dot: unknown, vars: Vars, where: string): unknown {
    switch (op.k) {
      case 'lit':
        return op.v;
      case 'field':
        return walk(dot, op.path, where);
      case 'var':
        return walk(lookup(vars, op.name, where), op.path, where);
      case 'sub':
        return this.pipe(op.pipe, dot, vars, where);
      case 'ident':
        return this.command([op], dot, vars, where, null);
    }
  }
}

/** render the template `name` of `chart` with `data` as dot (and $) */
export function render(chart: Chart, name: string, data: unknown): string {
  return new Renderer(chart).render(name, data);
}
