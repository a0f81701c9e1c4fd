/**
 * `regentra-gateway users …`: local accounts for operators. Passwords are read from
 * stdin (first line) or, on a terminal, asked for twice without echo; never from argv.
 * Every change is audited with actor 'cli'. Exit codes: 0 done, 1 refused or failed,
 * 2 usage error.
 */
import { parseArgs } from 'node:util';
import type { CliContext } from './context.ts';
import type { Io } from './io.ts';
import type { User } from '../store/types.ts';
import { StoreError } from '../store/types.ts';
import {
  AccountError,
  createLocalUser,
  findLocalUser,
  linkIdentity,
  parseRealm,
  resetMfa,
  setPassword,
  setRole,
  setStatus,
  signOutEverywhere,
  unlinkIdentity,
  unlockUser,
} from '../auth/password/users.ts';
import { hasTotp } from '../auth/totp/enrolment.ts';

export const USERS_USAGE = `usage: regentra-gateway users <command> [--config FILE]

  add <realm> <email> --name NAME [--role admin|member] [--no-password]
                                       create a local account (password from stdin, or asked for;
                                       --no-password: Microsoft sign-in only, once linked)
  list [<realm>] [--json]              list accounts
  set-role <realm> <email> <admin|member>
                                       current sessions carry the new role within seconds
  disable <realm> <email>              refuse sign-in; current sessions end within seconds
  enable <realm> <email>               allow sign-in again (sessions from before the disable stay ended)
  reset-password <realm> <email>       new password from stdin (or asked for); ends the user's sessions
  reset-mfa <realm> <email>            forget the authenticator and recovery codes (set up again at
                                       next sign-in); ends the user's sessions
  unlock <realm> <email>               clear failed attempts and any lockout
  sign-out-everywhere <realm> <email>  end every session of the user
  link <realm> <email> --tid TENANT_ID --oid OBJECT_ID
                                       let this Microsoft identity sign in as the account (the only
                                       way for admins and accounts with a password; ends sessions)
  unlink <realm> <email>               remove the account's Microsoft identity; ends its sessions

  <realm> is "staff" or "portal:<clientId>".
`;

class UsageError extends Error {}

const MAX_STDIN_BYTES = 8192;

/** The first line of stdin (a pipe or file), or two matching answers on a terminal. */
async function readPassword(io: Io): Promise<string> {
  if (io.stdin.isTTY) {
    const first = await promptHidden(io, 'New password: ');
    const again = await promptHidden(io, 'Repeat it: ');
    if (first !== again) throw new UsageError('the passwords do not match');
    return first;
  }
  let text = '';
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n') || text.length > MAX_STDIN_BYTES) break;
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new UsageError('no password on stdin: pipe it in (e.g. from a secret manager) or run on a terminal to be asked');
  return line;
}

function promptHidden(io: Io, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return void (finish(), resolve(value));
        if (ch === '\u0003') return void (finish(), reject(new UsageError('cancelled')));
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}

function mfaState(u: User): string {
  if (hasTotp(u)) return 'totp';
  return u.totpSecretEnc !== null ? 'pending' : 'none';
}

function describe(u: User, now: number) {
  return {
    realm: u.realm,
    email: u.email,
    name: u.displayName,
    role: u.realm === 'staff' ? u.role : null,
    status: u.status,
    password: u.passwordHash !== null,
    mfa: mfaState(u),
    locked: u.lockedUntil !== null && u.lockedUntil > now,
    id: u.id,
    microsoft: u.externalOid === null ? null : { tid: u.externalTid, oid: u.externalOid },
  };
}

function table(rows: ReturnType<typeof describe>[]): string {
  const head = ['REALM', 'EMAIL', 'NAME', 'ROLE', 'STATUS', 'MFA', 'LOCKED', 'MICROSOFT'];
  const cells = rows.map((r) => [r.realm, r.email, r.name, r.role ?? '-', r.status, r.mfa, r.locked ? 'yes' : 'no', r.microsoft ? 'linked' : '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  return (
    [head, ...cells]
      .map((c) =>
        c
          .map((v, i) => v.padEnd(widths[i] as number))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function positionals(args: readonly string[], count: number, names: string): string[] {
  if (args.length !== count) throw new UsageError(`expected ${names}`);
  return [...args];
}

export async function runUsersCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const { config, store, io } = ctx;
  const [command, ...rest] = args;
  const opts = { actor: 'cli' } as const;
  const minLength = config.auth.password.minLength;
  try {
    if (rest.some((a) => a === '--password' || a.startsWith('--password='))) {
      throw new UsageError('passwords are never taken from the command line (they would stay in shell history and process lists): pipe it on stdin');
    }
    const parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'no-password': { type: 'boolean' },
        tid: { type: 'string' },
        oid: { type: 'string' },
      },
    });
    const { values, positionals: pos } = parsed;
    if (command === undefined || command === 'help' || values.help) {
      io.stdout.write(USERS_USAGE);
      return command === undefined ? 2 : 0;
    }
    const target = async () => {
      const [realm, email] = positionals(pos.slice(0, 2), 2, '<realm> <email>');
      return findLocalUser(store, parseRealm(config, realm as string), email as string);
    };
    const done = (what: string, u: User) => {
      io.stdout.write(`${what}: ${u.email} (${u.realm})\n`);
      return 0;
    };

    switch (command) {
      case 'add': {
        const [realmText, email] = positionals(pos, 2, '<realm> <email> --name NAME');
        if (values.name === undefined) throw new UsageError('--name NAME is required');
        const realm = parseRealm(config, realmText as string);
        const password = values['no-password'] ? null : await readPassword(io);
        const user = await createLocalUser(store, { realm, email: email as string, name: values.name, role: values.role, password, minLength, ...opts });
        return done('created', user);
      }
      case 'list': {
        const realm = pos[0] === undefined ? undefined : parseRealm(config, positionals(pos, 1, '[<realm>]')[0] as string);
        const rows = (await store.listUsers(realm)).map((u) => describe(u, Date.now()));
        io.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : rows.length === 0 ? 'no users\n' : table(rows));
        return 0;
      }
      case 'set-role': {
        const role = positionals(pos, 3, '<realm> <email> <admin|member>')[2] as string;
        return done(`role set to ${role} (current sessions carry it within seconds)`, await setRole(store, await target(), role, opts));
      }
      case 'disable':
      case 'enable':
        positionals(pos, 2, '<realm> <email>');
        return done(`${command}d`, await setStatus(store, await target(), command === 'disable' ? 'disabled' : 'active', opts));
      case 'reset-password': {
        positionals(pos, 2, '<realm> <email>');
        const user = await target();
        return done('password reset, sessions ended', await setPassword(store, user, await readPassword(io), { minLength, ...opts }));
      }
      case 'reset-mfa':
        positionals(pos, 2, '<realm> <email>');
        return done('two-step verification reset (set up again at next sign-in), sessions ended', await resetMfa(store, await target(), opts));
      case 'unlock': {
        positionals(pos, 2, '<realm> <email>');
        const user = await target();
        await unlockUser(store, user, opts);
        return done('unlocked', user);
      }
      case 'sign-out-everywhere':
        positionals(pos, 2, '<realm> <email>');
        return done('signed out everywhere', await signOutEverywhere(store, await target(), opts));
      case 'link': {
        positionals(pos, 2, '<realm> <email> --tid TENANT_ID --oid OBJECT_ID');
        if (values.tid === undefined || values.oid === undefined) throw new UsageError('--tid TENANT_ID and --oid OBJECT_ID are required');
        return done('linked to the Microsoft identity, sessions ended', await linkIdentity(store, await target(), { tid: values.tid, oid: values.oid }, opts));
      }
      case 'unlink':
        positionals(pos, 2, '<realm> <email>');
        return done('Microsoft identity unlinked, sessions ended', await unlinkIdentity(store, await target(), opts));
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`users ${command ?? ''}: ${(err as Error).message}\n\n${USERS_USAGE}`);
      return 2;
    }
    if (err instanceof AccountError) {
      io.stderr.write(`users ${command}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof StoreError) {
      io.stderr.write(`users ${command}: the store failed (${err.code}): ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
