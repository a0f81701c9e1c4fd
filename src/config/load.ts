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

/** Paths of fields that hold secrets (an inline value there is warned about). */
const SECRET_PATHS: readonly RegExp[] = [
  /^keys\.session\[\d+\]$/,
  /^keys\.signing\[\d+\]\.privateKey$/,
  /^keys\.encryption\[\d+\]\.key$/,
  /^store\.url$/,
  /^sites\.portal\.entra\.clientSecret$/,
];

/** Validate a configuration object (as parsed from YAML). */
export function loadConfigObject(raw: unknown, options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? {};
  const baseDir = options.baseDir ?? process.cwd();
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];

  // unresolvable references and schema problems are reported together; the cross
  // checks need a valid shape, and skip the fields whose reference did not resolve
  const resolved = resolveRefs(raw, '', env, baseDir, issues, warnings);
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) throw new ConfigError([...issues, ...zodIssues(parsed.error)], options.source);

  const value = parsed.data;
  const withPaths = {
    ...value,
    dataDir: absolute(baseDir, value.dataDir),
    store: value.store.driver === 'sqlite' ? { ...value.store, path: absolute(baseDir, value.store.path ?? resolve(absolute(baseDir, value.dataDir), 'regentra.db')) } : value.store,
  };
  const unresolved = new Set(issues.map((i) => i.path));
  const checks: ConfigIssue[] = [];
  crossCheck(withPaths, checks, warnings);
  issues.push(...checks.filter((i) => !unresolved.has(i.path)));
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  return Object.freeze({ config: deepFreeze(withPaths) as Config, warnings: Object.freeze(warnings), source: options.source ?? null });
}

function absolute(baseDir: string, p: string): string {
  return p === ':memory:' || isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Returns a copy of `node` with `${ENV}` and `file:` strings replaced. */
function resolveRefs(node: unknown, path: string, env: LoadOptions['env'] & object, baseDir: string, issues: ConfigIssue[], warnings: string[]): unknown {
  if (typeof node === 'string') {
    const isSecret = SECRET_PATHS.some((re) => re.test(path));
    const envMatch = ENV_REF.exec(node);
    if (envMatch) {
      const name = envMatch[1] as string;
      const v = env[name];
      if (v === undefined || v === '') {
        issues.push({ path, message: `environment variable ${name} is not set` });
        return node;
      }
      return v;
    }
    const fileMatch = FILE_REF.exec(node);
    if (fileMatch) {
      const file = absolute(baseDir, (fileMatch[1] as string).trim());
      try {
        return readFileSync(file, 'utf8').trim();
      } catch (err) {
        issues.push({ path, message: `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
        return node;
      }
    }
    if (isSecret) warnings.push(`${path}: secret given inline; prefer \${ENV_VAR} or file:/path so it stays out of the config file`);
    return node;
  }
  if (Array.isArray(node)) return node.map((v, i) => resolveRefs(v, `${path}[${i}]`, env, baseDir, issues, warnings));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = resolveRefs(v, path ? `${path}.${k}` : k, env, baseDir, issues, warnings);
    return out;
  }
  return node;
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
  // hosts are unique across the staff site, the central callback host and every client
  const owners = new Map<string, string>();
  const claim = (host: string, owner: string, path: string) => {
    const prev = owners.get(host);
    if (prev !== undefined) issues.push({ path, message: `"${host}" is already used by ${prev}` });
    else owners.set(host, owner);
  };
  c.sites.staff.hosts.forEach((h, i) => claim(h, 'the staff site', `sites.staff.hosts[${i}]`));
  const portal = c.sites.portal;
  if (portal) {
    if (portal.centralCallbackHost) claim(portal.centralCallbackHost, 'the portal central callback host', 'sites.portal.centralCallbackHost');
    if (portal.centralCallbackHost && !portal.entra) issues.push({ path: 'sites.portal.centralCallbackHost', message: 'needs sites.portal.entra (the multi-tenant app) to be configured' });
    const ids = new Map<string, number>();
    portal.clients.forEach((client, ci) => {
      const prevIndex = ids.get(client.id);
      if (prevIndex !== undefined) issues.push({ path: `sites.portal.clients[${ci}].id`, message: `"${client.id}" is already the id of sites.portal.clients[${prevIndex}]` });
      else ids.set(client.id, ci);
      client.hosts.forEach((h, hi) => claim(h, `client "${client.id}"`, `sites.portal.clients[${ci}].hosts[${hi}]`));
    });
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

  if (!c.session.secure && c.server.publicScheme === 'https') warnings.push('session.secure is false while server.publicScheme is https: cookies would be sent over plain http');
  if (c.session.idleTimeoutSeconds > c.session.absoluteLifetimeSeconds) {
    issues.push({ path: 'session.idleTimeoutSeconds', message: `must not exceed session.absoluteLifetimeSeconds (${c.session.absoluteLifetimeSeconds})` });
  }
  if (c.entra.allowInsecure === false && c.entra.authorityHost.startsWith('http:')) {
    issues.push({ path: 'entra.authorityHost', message: 'must be https:// (set entra.allowInsecure: true only for a local stand-in)' });
  }
}

export function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
