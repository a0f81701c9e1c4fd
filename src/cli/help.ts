/**
 * What `regentra-gateway --help`, `regentra-gateway help [<command>]` and
 * `regentra-gateway <command> --help` print: read by an operator's first minutes, so
 * each text says what the command does, its arguments and where the config comes from.
 * Help never needs a configuration or a store.
 */
import { USERS_USAGE } from './users.ts';
import { SSO_USAGE } from './sso.ts';

const CONFIG = `  --config FILE, -c FILE   the YAML configuration (default: $GATEWAY_CONFIG; see config/example.yaml)`;

export const MAIN_USAGE = `usage: regentra-gateway [<command>] [--config FILE]

Regentra Gateway: the authentication reverse proxy in front of the Regentra staff app and
the customer portals (Microsoft Entra ID sign-in, or email + password + TOTP).

commands:
  serve                    start the gateway (the default command)
  check-config             validate the configuration and exit
  keys generate            print fresh session, encryption and signing keys
  users <command> …        manage local accounts (add, list, disable, reset-mfa, link, …)
  sso <command> …          staff SSO status and break-glass switches (disable-sso-only, disable)
  help [<command>]         this text, or a command's

options:
${CONFIG}
  --help, -h               show help (also after a command: regentra-gateway users --help)

Try the whole product locally, with no Azure account: npm start (see README.md).
`;

const COMMANDS: Readonly<Record<string, string>> = Object.freeze({
  serve: `usage: regentra-gateway [serve] [--config FILE]

Start the gateway: the public listener (server.host:server.port) and the ops listener
(/healthz, /readyz, /metrics). SIGHUP reloads the configuration; SIGTERM drains and stops.

${CONFIG}
`,
  'check-config': `usage: regentra-gateway check-config [--config FILE]

Load and validate the configuration (with its \${ENV} and file: references) and print a
summary; the exit code is 1 when it is not valid, with the reason.

${CONFIG}
`,
  keys: `usage: regentra-gateway keys generate

Print a fresh session key, encryption key and ES256 signing key (PKCS#8 PEM), to be kept
in a secret manager and referenced from the configuration. Needs no configuration.
`,
  users: USERS_USAGE,
  sso: SSO_USAGE,
});

/** The help text for `command` (null: no such command). */
export function helpFor(command: string): string | null {
  if (command === 'help') return MAIN_USAGE;
  return Object.hasOwn(COMMANDS, command) ? (COMMANDS[command] as string) : null;
}

/** Is this argument a request for help? */
export function isHelpFlag(arg: string): boolean {
  return arg === '--help' || arg === '-h';
}
