/**
 * Parsing for the Go text/template subset of gotemplate.ts: actions with their
 * `{{-`/`-}}` trim markers and comments, pipelines, if/else if/else, with,
 * range, define and template. Each parsed template is kept in a Chart by name,
 * with every function name and included template name it uses.
 */
export type Operand =
  | { readonly k: 'lit'; readonly v: unknown }
  | { readonly k: 'field'; readonly path: readonly string[] }
  | { readonly k: 'var'; readonly name: string; readonly path: readonly string[] }
  | { readonly k: 'ident'; readonly name: string }
  | { readonly k: 'sub'; readonly pipe: Pipe };
export type Command = readonly Operand[];
export interface Pipe {
  readonly decl: readonly string[];
  readonly cmds: readonly Command[];
}
export type Node =
  | { readonly k: 'text'; readonly v: string }
  | { readonly k: 'print'; readonly pipe: Pipe }
  | { readonly k: 'if'; readonly branches: readonly { pipe: Pipe; body: Node[] }[]; readonly otherwise: Node[] }
  | { readonly k: 'with' | 'range'; readonly pipe: Pipe; readonly body: Node[]; readonly otherwise: Node[] }
  | { readonly k: 'template'; readonly name: string; readonly pipe: Pipe | null };

interface Action {
  readonly text: string;
  readonly where: string;
}
type Piece = string | Action;

export class TemplateError extends Error {}

const SPACE = /[ \t\r\n]/;

/** split into text and actions, applying the trim markers; comments are dropped */
function lex(src: string, file: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let text = '';
  let trimNext = false;
  const line = (at: number) => src.slice(0, at).split('\n').length;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open === -1) {
      text += src.slice(i);
      break;
    }
    text += src.slice(i, open);
    let j = open + 2;
    if (src[j] === '-' && SPACE.test(src[j + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      j += 2;
    }
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (text) pieces.push(text);
    text = '';
    // a comment ends at the first */ (quotes inside do not count)
    const comment = /^\/\*[\s\S]*?\*\/( -)?\}\}/.exec(src.slice(j));
    if (comment) {
      trimNext = comment[1] !== undefined;
      i = j + comment[0].length;
      continue;
    }
    // find the closing }} outside quotes
    let k = j;
    let quote: string | null = null;
    for (; k < src.length; k++) {
      const c = src[k] as string;
      if (quote) {
        if (c === '\\' && quote !== '`') k++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (src.startsWith('}}', k)) break;
    }
    if (k >= src.length) throw new TemplateError(`${file}:${line(open)}: unclosed action`);
    let body = src.slice(j, k);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -2);
      trimNext = true;
    }
    pieces.push({ text: body.trim(), where: `${file}:${line(open)}` });
    i = k + 2;
  }
  if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
  if (text) pieces.push(text);
  return pieces;
}

type Tok = { t: 'str' | 'num' | 'ident' | 'field' | 'var' | 'punct'; v: string };

function tokenize(s: string, where: string): Tok[] {
  const toks: Tok[] = [];
  const re =
    // eslint-disable-next-line security/detect-unsafe-regex -- sticky tokenizer with disjoint alternatives (escapes vs other characters, names split at '.'): linear, on our own templates
    /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)|(:=|[=|(),])|(\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?)|([A-Za-z_][A-Za-z0-9_]*))/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < s.length && (m = re.exec(s))) {
    if (m[1]) toks.push({ t: 'str', v: JSON.parse(m[1]) as string });
    else if (m[2]) toks.push({ t: 'str', v: m[2].slice(1, -1) });
    else if (m[3]) toks.push({ t: 'num', v: m[3] });
    else if (m[4]) toks.push({ t: 'punct', v: m[4] });
    else if (m[5]) toks.push({ t: 'var', v: m[5] });
    else if (m[6]) toks.push({ t: 'field', v: m[6] });
    else if (m[7]) toks.push({ t: 'ident', v: m[7] });
  }
  if (s.slice(re.lastIndex).trim() !== '') throw new TemplateError(`${where}: cannot read "${s.slice(re.lastIndex)}"`);
  return toks;
}

function parsePipe(toks: Tok[], where: string): Pipe {
  let pos = 0;
  const decl: string[] = [];
  const declEnd = toks.findIndex((t) => t.t === 'punct' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && toks.slice(0, declEnd).every((t) => t.t === 'var' || (t.t === 'punct' && t.v === ','))) {
    for (const t of toks.slice(0, declEnd)) if (t.t === 'var') decl.push(t.v);
    pos = declEnd + 1;
  }
  function operand(): Operand {
    const t = toks[pos++];
    if (!t) throw new TemplateError(`${where}: missing operand`);
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'field') return { k: 'field', path: t.v === '.' ? [] : t.v.slice(1).split('.') };
    if (t.t === 'var') {
      const [name, ...path] = t.v.split('.');
      return { k: 'var', name: name as string, path };
    }
    if (t.t === 'ident') {
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
      if (t.v === 'nil') return { k: 'lit', v: null };
      return { k: 'ident', name: t.v };
    }
    if (t.v === '(') {
      const start = pos;
      let depth = 1;
      while (pos < toks.length && depth > 0) {
        const p = toks[pos++] as Tok;
        if (p.t === 'punct' && p.v === '(') depth++;
        if (p.t === 'punct' && p.v === ')') depth--;
      }
      if (depth !== 0) throw new TemplateError(`${where}: unbalanced parentheses`);
      return { k: 'sub', pipe: parsePipe(toks.slice(start, pos - 1), where) };
    }
    throw new TemplateError(`${where}: unexpected "${t.v}"`);
  }
  const cmds: Operand[][] = [[]];
  while (pos < toks.length) {
    const t = toks[pos] as Tok;
    if (t.t === 'punct' && t.v === '|') {
      pos++;
      cmds.push([]);
      continue;
    }
    (cmds.at(-1) as Operand[]).push(operand());
  }
  if (cmds.some((c) => c.length === 0)) throw new TemplateError(`${where}: empty command in pipeline`);
  return { decl, cmds };
}

export interface Chart {
  /** named templates: `define`d ones and one per file (by path, e.g. "regentra-gateway/templates/service.yaml") */
  readonly templates: Map<string, Node[]>;
  /** every function name used anywhere */
  readonly functions: Set<string>;
  /** every template name passed to include/template as a literal */
  readonly includes: Set<string>;
}

export function newChart(): Chart {
  return { templates: new Map(), functions: new Set(), includes: new Set() };
}

/** parse `src` as the template `name` (defines are registered too) */
export function addTemplate(chart: Chart, name: string, src: string): void {
  const pieces = lex(src, name);
  let i = 0;
  function note(pipe: Pipe): Pipe {
    for (const cmd of pipe.cmds) {
      const head = cmd[0];
      if (head?.k === 'ident') {
        chart.functions.add(head.name);
        const arg = cmd[1];
        if ((head.name === 'include' || head.name === 'template') && arg?.k === 'lit') chart.includes.add(String(arg.v));
      }
      for (const op of cmd) if (op.k === 'sub') note(op.pipe);
    }
    return pipe;
  }
  function list(stop: readonly string[]): { nodes: Node[]; end: string; rest: string; where: string } {
    const nodes: Node[] = [];
    while (i < pieces.length) {
      const p = pieces[i++] as Piece;
      if (typeof p === 'string') {
        nodes.push({ k: 'text', v: p });
        continue;
      }
      const [word = ''] = p.text.split(/\s+/);
      const rest = p.text.slice(word.length).trim();
      if (word === 'end' || word === 'else') {
        if (!stop.includes(word)) throw new TemplateError(`${p.where}: unexpected {{${word}}}`);
        return { nodes, end: word, rest, where: p.where };
      }
      if (word === 'if') {
        const branches = [{ pipe: note(parsePipe(tokenize(rest, p.where), p.where)), body: [] as Node[] }];
        let otherwise: Node[] = [];
        for (;;) {
          const part = list(['else', 'end']);
          (branches.at(-1) as { body: Node[] }).body = part.nodes;
          if (part.end === 'end') break;
          if (part.rest.startsWith('if ')) {
            branches.push({ pipe: note(parsePipe(tokenize(part.rest.slice(3), part.where), part.where)), body: [] });
            continue;
          }
          otherwise = list(['end']).nodes;
          break;
        }
        nodes.push({ k: 'if', branches, otherwise });
      } else if (word === 'with' || word === 'range') {
        const pipe = note(parsePipe(tokenize(rest, p.where), p.where));
        const body = list(['else', 'end']);
        const otherwise = body.end === 'else' ? list(['end']).nodes : [];
        nodes.push({ k: word, pipe, body: body.nodes, otherwise });
      } else if (word === 'define') {
        const defName = JSON.parse(rest) as string;
        chart.templates.set(defName, list(['end']).nodes);
      } else if (word === 'template') {
        const toks = tokenize(rest, p.where);
        const first = toks.shift();
        if (first?.t !== 'str') throw new TemplateError(`${p.where}: template needs a name`);
        chart.includes.add(first.v);
        nodes.push({ k: 'template', name: first.v, pipe: toks.length ? note(parsePipe(toks, p.where)) : null });
      } else if (['block', 'break', 'continue'].includes(word)) {
        throw new TemplateError(`${p.where}: {{${word}}} is not supported by this renderer`);
      } else {
        nodes.push({ k: 'print', pipe: note(parsePipe(tokenize(p.text, p.where), p.where)) });
      }
    }
    if (stop.length > 0) throw new TemplateError(`${name}: missing {{end}}`);
    return { nodes, end: '', rest: '', where: name };
  }
  chart.templates.set(name, list([]).nodes);
}
