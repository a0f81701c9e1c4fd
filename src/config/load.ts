/**
 * Load and validate the configuration once: YAML → reference resolution
 * (`${ENV}`, `file:`) → schema → cross-field checks → key checks → deep freeze.
 * Every problem is collected and reported together in one ConfigError.
 * Nothing here mutates its input.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { configSchema, type Config } from './schema.ts';
import { checkSigningKey, decodeKey32 } from './keys.ts';
import { cloudMismatch } from './entra-cloud.ts';
import { deepFreeze } from '../util/security.ts';

export interface LoadedConfig {
  readonly config: Config;
  /** non-fatal advice (inline secrets, insecure cookies, …) */
  readonly warnings: readonly string[];
  /** absolute path of the file, when loaded from one */
  readonly source: string | null;
}

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** directory that relative `file:` references and relative paths resolve against */
  readonly baseDir?: string;
  readonly source?: string;
}

/** Read, validate and freeze the configuration file at `file`. */
export function loadConfigFile(file: string, env: Readonly<Record<string, string | undefined>> = {}): LoadedConfig {
  const source = resolve(file);
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the config file the operator named on the command line
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return loadConfigText(text, { env, baseDir: dirname(source), source });
}

/** Validate configuration given as YAML text. */
export function loadConfigText(text: string, options: LoadOptions = {}): LoadedConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: e.linePos?.[0] ? `line ${e.linePos[0].line}` : '', message: e.message.split('\n')[0] ?? e.message })),
      options.source,
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // an alias without its anchor, or so many aliases that expanding them would exhaust memory
    throw new ConfigError([{ path: '', message: err instanceof Error ? err.message : String(err) }], options.source);
  }
  return loadConfigObject(raw, options);
}

const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const FILE_REF = /^file:(.+)$/;

/** Paths of fields that hold secrets (an inline value there is warned about); a number stands for any index. */
const SECRET_PATHS: readonly (readonly (string | number)[])[] = [
  ['keys', 'session', 0],
  ['keys', 'signing', 0, 'privateKey'],
  ['keys', 'encryption', 0, 'key'],
  ['store', 'url'],
  ['sites', 'portal', 'entra', 'clientSecret'],
  ['sites', 'portal', 'entra', 'certificate', 'privateKey'],
  ['sites', 'portal', 'entra', 'certificate', 0, 'privateKey'],
];

const SECRET_DEPTHS = new Set(SECRET_PATHS.map((p) => p.length));

function isSecretPath(path: readonly (string | number)[]): boolean {
  return (
    SECRET_DEPTHS.has(path.length) &&
    SECRET_PATHS.some((p) => p.length === path.length && p.every((seg, i) => (typeof seg === 'number' ? typeof path[i] === 'number' : seg === path[i])))
  );
}

/** Validate a configuration object (as parsed from YAML). */
export function loadConfigObject(raw: unknown, options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? {};
  const baseDir = options.baseDir ?? process.cwd();
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];

  // unresolvable references and schema problems are reported together; the cross
  // checks need a valid shape, and skip the fields whose reference did not resolve
  const resolved = resolveRefs(raw, [], { env, baseDir, issues, warnings });
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) throw new ConfigError([...issues, ...zodIssues(parsed.error)], options.source);

  const value = parsed.data;
  const withPaths = {
    ...value,
    dataDir: absolute(baseDir, value.dataDir),
    store:
      value.store.driver === 'sqlite'
        ? { ...value.store, path: absolute(baseDir, value.store.path ?? resolve(absolute(baseDir, value.dataDir), 'regentra.db')) }
        : value.store,
  };
  const unresolved = new Set(issues.map((i) => i.path));
  const checks: ConfigIssue[] = [];
  crossCheck(withPaths, checks, warnings);
  issues.push(...checks.filter((i) => !unresolved.has(i.path)));
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  return Object.freeze({ config: deepFreeze(withPaths), warnings: Object.freeze(warnings), source: options.source ?? null });
}

function absolute(baseDir: string, p: string): string {
  return p === ':memory:' || isAbsolute(p) ? p : resolve(baseDir, p);
}

interface RefContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly baseDir: string;
  readonly issues: ConfigIssue[];
  readonly warnings: string[];
}

/**
 * `node` with its `${ENV}` and `file:` strings replaced. What holds no reference is
 * returned as it is, not copied (a configuration with 10,000 clients would otherwise be
 * copied whole at start-up): the schema builds new objects, so the input is never modified.
 * `path` is the stack of keys and indices down to `node`, made into text only when needed.
 */
function resolveRefs(node: unknown, path: (string | number)[], ctx: RefContext): unknown {
  if (typeof node === 'string') {
    const envMatch = node.startsWith('${') ? ENV_REF.exec(node) : null;
    if (envMatch) {
      const name = envMatch[1] as string;
      const v = ctx.env[name];
      if (v === undefined || v === '') {
        ctx.issues.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
        return node;
      }
      return v;
    }
    const fileMatch = node.startsWith('file:') ? FILE_REF.exec(node) : null;
    if (fileMatch) {
      const file = absolute(ctx.baseDir, (fileMatch[1] as string).trim());
      try {
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- a file: reference in the operator's config, resolved against its folder
        return readFileSync(file, 'utf8').trim();
      } catch (err) {
        ctx.issues.push({ path: formatPath(path), message: `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
        return node;
      }
    }
    if (isSecretPath(path)) ctx.warnings.push(`${formatPath(path)}: secret given inline; prefer \${ENV_VAR} or file:/path so it stays out of the config file`);
    return node;
  }
  if (Array.isArray(node)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      path.push(i);
      const r = resolveRefs(v, path, ctx);
      path.pop();
      if (r !== v) out ??= node.slice(0, i);
      out?.push(r);
    }
    return out ?? node;
  }
  if (node !== null && typeof node === 'object') {
    const object = node as Record<string, unknown>;
    const keys = Object.keys(object);
    let out: Record<string, unknown> | undefined;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j] as string;
      const v = object[k];
      path.push(k);
      const r = resolveRefs(v, path, ctx);
      path.pop();
      if (r !== v && out === undefined) {
        out = {};
        for (const pk of keys.slice(0, j)) setOwn(out, pk, object[pk]);
      }
      if (out) setOwn(out, k, r);
    }
    return out ?? node;
  }
  return node;
}

/** `out[key] = value` as an own property, also for a key named `__proto__` (as YAML gives it) */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  else out[key] = value;
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => {
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    else if (i.code === 'invalid_type' && /received undefined/.test(i.message)) message = `is required (${i.expected})`;
    return { path: formatPath(i.path), message };
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

type Parsed = z.output<typeof configSchema>;

function crossCheck(c: Parsed, issues: ConfigIssue[], warnings: string[]): void {
  // hosts are unique across the staff site, the central callback host and every client;
  // a host's owner is a name, or the index of the client (named only in a message)
  const owners = new Map<string, string | number>();
  const clients = c.sites.portal?.clients ?? [];
  const ownerName = (owner: string | number) => (typeof owner === 'number' ? `client "${clients[owner]?.id}"` : owner);
  const claim = (host: string, owner: string | number, path: () => string) => {
    const prev = owners.get(host);
    if (prev !== undefined) issues.push({ path: path(), message: `"${host}" is already used by ${ownerName(prev)}` });
    else owners.set(host, owner);
  };
  c.sites.staff.hosts.forEach((h, i) => claim(h, 'the staff site', () => `sites.staff.hosts[${i}]`));
  const portal = c.sites.portal;
  if (portal) {
    if (portal.centralCallbackHost) claim(portal.centralCallbackHost, 'the portal central callback host', () => 'sites.portal.centralCallbackHost');
    if (portal.centralCallbackHost && !portal.entra)
      issues.push({ path: 'sites.portal.centralCallbackHost', message: 'needs sites.portal.entra (the multi-tenant app) to be configured' });
    const ids = new Map<string, number>();
    for (let ci = 0; ci < portal.clients.length; ci++) {
      const client = portal.clients[ci] as (typeof portal.clients)[number];
      const prevIndex = ids.get(client.id);
      if (prevIndex !== undefined)
        issues.push({ path: `sites.portal.clients[${ci}].id`, message: `"${client.id}" is already the id of sites.portal.clients[${prevIndex}]` });
      else ids.set(client.id, ci);
      for (let hi = 0; hi < client.hosts.length; hi++) claim(client.hosts[hi] as string, ci, () => `sites.portal.clients[${ci}].hosts[${hi}]`);
    }
  }

  c.keys.session.forEach((k, i) => {
    const err = decodeKey32(k).error;
    if (err) issues.push({ path: `keys.session[${i}]`, message: err });
  });
  const encIds = new Set<string>();
  c.keys.encryption.forEach((k, i) => {
    const err = decodeKey32(k.key).error;
    if (err) issues.push({ path: `keys.encryption[${i}].key`, message: err });
    if (encIds.has(k.id)) issues.push({ path: `keys.encryption[${i}].id`, message: `"${k.id}" is used by another encryption key` });
    encIds.add(k.id);
  });
  const kids = new Set<string>();
  c.keys.signing.forEach((k, i) => {
    const res = checkSigningKey(k.privateKey, k.alg);
    if (res.error) issues.push({ path: `keys.signing[${i}].privateKey`, message: res.error });
    const kid = k.kid ?? res.kid;
    if (kid && kids.has(kid)) issues.push({ path: `keys.signing[${i}].kid`, message: `"${kid}" is used by another signing key` });
    if (kid) kids.add(kid);
  });

  if (!c.session.secure && c.server.publicScheme === 'https')
    warnings.push('session.secure is false while server.publicScheme is https: cookies would be sent over plain http');
  if (c.session.idleTimeoutSeconds > c.session.absoluteLifetimeSeconds) {
    issues.push({ path: 'session.idleTimeoutSeconds', message: `must not exceed session.absoluteLifetimeSeconds (${c.session.absoluteLifetimeSeconds})` });
  }
  if (c.entra.allowInsecure === false && c.entra.authorityHost.startsWith('http:')) {
    issues.push({ path: 'entra.authorityHost', message: 'must be https:// (set entra.allowInsecure: true only for a local stand-in)' });
  } else if (c.entra.allowInsecure === false) {
    // the authority and Graph must be one Microsoft cloud: a mismatch fails every sign-in (AADSTS500011)
    const mismatch = cloudMismatch(c.entra.authorityHost, c.entra.graphUrl);
    if (mismatch) issues.push({ path: `entra.${mismatch.setting}`, message: mismatch.message });
    if (c.entra.graphResource !== undefined)
      issues.push({
        path: 'entra.graphResource',
        message: "is derived from entra.graphUrl for Microsoft's clouds; set it only with entra.allowInsecure: true (a local stand-in)",
      });
  }
}

export { deepFreeze };
