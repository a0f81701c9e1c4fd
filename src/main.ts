/**
 * The composition root and command line: the only reader of argv and env.
 *
 *   regentra-gateway [serve] [--config FILE]      start the gateway (GATEWAY_CONFIG)
 *   regentra-gateway check-config [--config FILE] validate the config and exit
 *   regentra-gateway keys generate                print fresh keys
 *   regentra-gateway users <command> …            manage local accounts
 *   regentra-gateway sso <command> …              SSO status, redirect URIs, break-glass switches
 *   regentra-gateway entra generate-certificate --out DIR   a certificate credential for the portal app
 *   regentra-gateway help [<command>], --help, <command> --help   usage (src/cli/help.ts)
 */
import { loadConfigFile, type LoadedConfig } from './config/load.ts';
import { ConfigError } from './errors.ts';
import { generateKeys } from './config/keys.ts';
import { openConfiguredStore } from './store/index.ts';
import type { Io } from './cli/io.ts';
import { runUsersCommand } from './cli/users.ts';
import { printRedirectUris, runSsoCommand } from './cli/sso.ts';
import { runEntraCommand } from './cli/entra.ts';
import { helpFor, isHelpFlag, MAIN_USAGE } from './cli/help.ts';
import { serve } from './runtime/serve.ts';
import { missingNodeFlags } from './runtime/node-flags.ts';

export { serve } from './runtime/serve.ts';
export type { Running, ServeOptions } from './runtime/serve.ts';
export { openConfiguredStore } from './store/index.ts';
export type { Io } from './cli/io.ts';

export interface ParsedArgs {
  readonly command: string;
  readonly rest: readonly string[];
  readonly configPath: string | undefined;
}

export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedArgs {
  const rest: string[] = [];
  let configPath = env.GATEWAY_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config' || a === '-c') configPath = argv[++i];
    else if (a.startsWith('--config=')) configPath = a.slice('--config='.length);
    else rest.push(a);
  }
  const command = rest[0] && !rest[0].startsWith('-') ? (rest.shift() as string) : 'serve';
  return { command, rest, configPath };
}

function loadOrExplain(configPath: string | undefined, env: Readonly<Record<string, string | undefined>>, io: Io): LoadedConfig | null {
  if (!configPath) {
    io.stderr.write('regentra-gateway: no configuration: pass --config FILE or set GATEWAY_CONFIG (see config/example.yaml)\n');
    return null;
  }
  try {
    const loaded = loadConfigFile(configPath, env);
    for (const w of loaded.warnings) io.stderr.write(`warning: ${w}\n`);
    return loaded;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`regentra-gateway: ${err.message}\n`);
      return null;
    }
    throw err;
  }
}

/** Run a command; resolves to the process exit code (serve resolves when stopped). */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Io): Promise<number> {
  const args = parseArgs(argv, env);
  // help needs no configuration: `help [cmd]`, `--help`, `cmd --help`
  if (args.command === 'help') {
    const topic = args.rest[0];
    const text = topic === undefined ? MAIN_USAGE : helpFor(topic);
    if (text === null) {
      io.stderr.write(`regentra-gateway: no command "${topic}"

${MAIN_USAGE}`);
      return 2;
    }
    io.stdout.write(text);
    return 0;
  }
  if (args.rest.some(isHelpFlag)) {
    // a bare `--help` parses as the default command, serve: that is the overview
    if (!argv.includes(args.command)) {
      io.stdout.write(MAIN_USAGE);
      return 0;
    }
    const text = helpFor(args.command);
    if (text === null) {
      io.stderr.write(`regentra-gateway: unknown command "${args.command}"\n\n${MAIN_USAGE}`);
      return 2;
    }
    io.stdout.write(text);
    return 0;
  }
  switch (args.command) {
    case 'check-config': {
      const loaded = loadOrExplain(args.configPath, env, io);
      if (!loaded) return 1;
      const c = loaded.config;
      io.stdout.write(
        `configuration OK: ${loaded.source}\n  staff hosts: ${c.sites.staff.hosts.join(', ')}\n  portal clients: ${c.sites.portal?.clients.length ?? 0}\n  store: ${c.store.driver}\n`,
      );
      return 0;
    }
    case 'keys': {
      if (args.rest[0] !== 'generate') {
        io.stderr.write(helpFor('keys') ?? '');
        return 2;
      }
      const k = generateKeys();
      io.stdout.write(
        `# Fresh keys. Store each in your secret manager and reference it from the config as \${ENV_VAR} or file:/path.\n` +
          `REGENTRA_SESSION_KEY=${k.session}\nREGENTRA_ENCRYPTION_KEY=${k.encryption}\n# signing key (kid ${k.signingKid}), PKCS#8 PEM:\n${k.signingPem}`,
      );
      return 0;
    }
    case 'entra':
      return runEntraCommand(args.rest, io);
    case 'users':
    case 'sso': {
      const loaded = loadOrExplain(args.configPath, env, io);
      if (!loaded) return 1;
      // from the configuration alone: no store needed
      if (args.command === 'sso' && args.rest[0] === 'redirect-uris') return printRedirectUris(args.rest.slice(1), loaded.config, io);
      const store = await openConfiguredStore(loaded.config);
      try {
        return args.command === 'users'
          ? await runUsersCommand(args.rest, { config: loaded.config, store, io })
          : await runSsoCommand(args.rest, { config: loaded.config, store, io });
      } finally {
        await store.close();
      }
    }
    case 'serve': {
      const loaded = loadOrExplain(args.configPath, env, io);
      if (!loaded) return 1;
      const running = await serve(loaded.config, { configFile: loaded.source ?? undefined, env });
      io.stdout.write(`regentra-gateway listening on ${running.url} (ops on ${running.opsUrl})\n`);
      const missing = missingNodeFlags(process.execArgv, env.NODE_OPTIONS);
      if (missing.length > 0) {
        io.stderr.write(
          `regentra-gateway: note: node was started without ${missing.join(' ')}; proxied request and response bodies cost up to twice the CPU without them (see docs/operations.md)\n`,
        );
      }
      return running.closed;
    }
    default:
      io.stderr.write(`regentra-gateway: unknown command "${args.command}"\n\n${MAIN_USAGE}`);
      return 2;
  }
}
