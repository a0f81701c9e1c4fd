/**
 * Request-target normalisation. Every decision (reserved path, public path) and the
 * path the upstream receives are made on ONE canonical form, so that an attacker
 * cannot make the gateway and the upstream disagree about which resource is asked for.
 *
 * Rules (in order):
 * - only origin-form targets (`/path?query`) are accepted (absolute-form and `*` are refused);
 * - the fragment (`#…`, never sent by browsers) is dropped, the query is kept verbatim;
 * - `\` is treated as `/` (as browsers and some servers do);
 * - percent-escapes of unreserved characters are decoded (`%2e` → `.`, `%41` → `A`), other
 *   escapes are upper-cased; escapes of `/`, `\` and control characters are refused, as are
 *   malformed escapes, escapes that are not UTF-8, and raw control or non-ASCII bytes;
 * - empty segments (`//`) are merged, `.` and `..` segments are resolved (never above `/`);
 * - a segment that is a dot-segment with `;` parameters (`..;x`, `..%3Bx`) is refused, as is
 *   the reserved `/.auth` segment with parameters (`/.auth;x/…`): upstreams that strip them
 *   would read another path than the one decided on;
 * - the reserved prefix `/.auth` is matched case-insensitively and rewritten to lower case.
 *
 * A path that normalises, but that an upstream decoding differently could read as another
 * path, is marked `ambiguous` (with the reason): a double-encoded escape (`%25` and two hex
 * digits: `/assets/%252e%252e/x` is `/x` to an upstream that decodes twice), or an escaped
 * character whose Unicode compatibility form (NFKC) holds `.`, `/`, `\`, `%` or a slash
 * look-alike (`%EF%BC%8E` full-width dot, `%E2%80%A5` two-dot leader, `%EF%BC%8F`
 * full-width slash, `%E2%88%95` division slash…): `/x` to an upstream that applies NFKC.
 * The caller refuses it unless the site allows such paths (`ambiguousPaths: allow`);
 * either way the decisions and the upstream see the one path returned here.
 */
import { RESERVED_PREFIX } from './reserved.ts';

export type NormalizeResult =
  { readonly ok: true; readonly path: string; readonly query: string; readonly ambiguous?: string } | { readonly ok: false; readonly reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function normalizeTarget(target: string): NormalizeResult {
  if (target.length === 0 || target.charCodeAt(0) !== 47 /* / */) {
    return { ok: false, reason: 'request target must be a path starting with "/"' };
  }
  let end = target.length;
  const hash = target.indexOf('#');
  // eslint-disable-next-line security/detect-possible-timing-attacks -- the index of '#' in the request target, not a secret
  if (hash !== -1) end = hash;
  const q = target.indexOf('?');
  let rawPath: string;
  let query = '';
  if (q !== -1 && q < end) {
    rawPath = target.slice(0, q);
    query = target.slice(q + 1, end);
  } else {
    rawPath = target.slice(0, end);
  }

  // fast path: plain paths need no work
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored; segments start at '/' and dots, neither in the character class, so every split is unique: linear
  if (/^(\/[A-Za-z0-9\-_~!$&'()*+,;=:@]+(\.[A-Za-z0-9\-_~!$&'()*+,;=:@]+)*)*\/?$/.test(rawPath)) {
    return { ok: true, path: reserveCase(rawPath), query };
  }

  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath[i] as string;
    const code = rawPath.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return { ok: false, reason: 'control, space or non-ASCII character in path' };
    if (ch === '\\') {
      decoded += '/';
      continue;
    }
    if (ch === '%') {
      const hex = rawPath.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: 'malformed %-escape in path' };
      const byte = parseInt(hex, 16);
      if (byte === 0x2f || byte === 0x5c) return { ok: false, reason: 'encoded "/" or "\\" in path' };
      if (byte < 0x20 || byte === 0x7f) return { ok: false, reason: 'encoded control character in path' };
      const c = String.fromCharCode(byte);
      decoded += byte < 0x80 && UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
      i += 2;
      continue;
    }
    decoded += ch;
  }

  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (seg === '' && i < segments.length - 1) continue; // `//` merged
    // `;` parameters, raw or encoded (upstreams that decode before stripping them read `..%3B` as `..`)
    const bare = seg.split(/;|%3B/, 1)[0] as string;
    if ((bare === '.' || bare === '..') && bare !== seg) return { ok: false, reason: 'dot-segment with parameters in path' };
    if (out.length === 0 && bare !== seg && bare.toLowerCase() === RESERVED_PREFIX.slice(1))
      return { ok: false, reason: 'parameters on the reserved /.auth segment' };
    if (seg === '.') {
      if (i === segments.length - 1) out.push('');
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (i === segments.length - 1) out.push('');
      continue;
    }
    out.push(seg);
  }
  const path = reserveCase(`/${out.join('/')}`);
  // only a path with escapes left can be ambiguous (an ASCII-only path ends here)
  if (!path.includes('%')) return { ok: true, path, query };
  // the remaining escapes must spell UTF-8: `/%C0%AE` (overlong ".") is refused, never guessed at
  const text = decodeUtf8(path);
  if (text === null) return { ok: false, reason: 'malformed UTF-8 %-escape in path' };
  const ambiguous = ambiguity(path, text);
  return ambiguous === null ? { ok: true, path, query } : { ok: true, path, query, ambiguous };
}

function decodeUtf8(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}

/** `%25` and two hex digits: decoded once more, it is another escape */
const DOUBLE_ESCAPE = /%25[0-9A-Fa-f]{2}/;
/**
 * What a character must not become under NFKC: a dot, a separator, an escape, or a slash
 * look-alike that some upstreams map to "/" (Windows best-fit, confusable folding):
 * U+2044 fraction slash (NFKC of ½ holds it), U+2215 division slash, U+2571, U+29F5, U+29F8, U+29F9.
 */
const SEPARATOR_LIKE = /[./\\%\u2044\u2215\u2571\u29F5\u29F8\u29F9]/;

/**
 * Why an upstream that decodes twice or applies NFKC could read another path than `path`
 * (`text` is `path` decoded), or null. Called only for paths with escapes left.
 */
function ambiguity(path: string, text: string): string | null {
  if (DOUBLE_ESCAPE.test(path)) return 'double-encoded %-escape ("%25" and two hex digits) in path';
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) continue;
    if (SEPARATOR_LIKE.test(ch.normalize('NFKC'))) {
      const cp = (ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
      return `U+${cp} in path reads as ".", "/", "\\" or "%" after Unicode compatibility normalisation (NFKC)`;
    }
  }
  return null;
}

/** `/.AUTH/Login` → `/.auth/Login`: the reserved prefix is case-insensitive. */
function reserveCase(path: string): string {
  if (path.length >= RESERVED_PREFIX.length && (path.length === RESERVED_PREFIX.length || path[RESERVED_PREFIX.length] === '/')) {
    const head = path.slice(0, RESERVED_PREFIX.length);
    if (head !== RESERVED_PREFIX && head.toLowerCase() === RESERVED_PREFIX) return RESERVED_PREFIX + path.slice(RESERVED_PREFIX.length);
  }
  return path;
}
