/**
 * `regentra-gateway sso …`: SSO status and the break-glass switches, for an operator
 * with access to the configuration and the store (no web sign-in needed).
 *
 *   sso status               staff SSO and each client's portal SSO (never a secret)
 *   sso redirect-uris        every redirect URI to register in Entra, per app (config only)
 *   sso disable-sso-only     allow email + password sign-in again (always allowed)
 *   sso disable              turn staff SSO off (and SSO-only with it)
 *
 * Changes are written with the setting's version (no lost update against an admin
 * saving at the same moment) and audited with actor 'cli'.
 */
import { STAFF_REALM } from '../routing/sites.ts';
import { fieldChanges, settingsChangeEvent } from '../settings/audit.ts';
import { readWithDefaults, SETTINGS } from '../settings/store.ts';
import { portalAuthKey, putSignInSettings, STAFF_SSO_KEY, type StaffSsoSettings } from '../auth/policy.ts';
import { StoreError, type Store } from '../store/types.ts';
import type { CliContext } from './context.ts';
import type { Config } from '../config/schema.ts';
import type { Io } from './io.ts';
import { registeredRedirectUris, type AppRedirectUris } from '../auth/entra/urls.ts';

export const SSO_USAGE = `usage: regentra-gateway sso <command> [--config FILE]

  status               staff SSO and each client's portal SSO (never a secret)
  redirect-uris        every redirect URI to register in Azure, per app registration
  disable-sso-only     allow email + password sign-in again (the break-glass switch
                       when Microsoft sign-in is broken and SSO-only is on)
  disable              turn staff SSO off (and SSO-only with it)
`;
const USAGE = SSO_USAGE;
const MAX_ATTEMPTS = 3;

async function readStaff(store: Store): Promise<{ value: StaffSsoSettings; version: number }> {
  return readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY);
}

/** `sso redirect-uris`: what each app registration must list (the same list as the admin pages). */
export function printRedirectUris(args: readonly string[], config: Config, io: Io): number {
  if (args.length > 0) {
    io.stderr.write(`sso redirect-uris takes no arguments\n${USAGE}`);
    return 2;
  }
  const list = registeredRedirectUris(config);
  const section = (title: string, r: AppRedirectUris) => {
    io.stdout.write(`${title}\n`);
    for (const uri of r.uris) io.stdout.write(`  ${uri}\n`);
    if (r.wildcardHosts.length) io.stdout.write(`  (wildcard hosts cannot be registered; add each real host under: ${r.wildcardHosts.join(', ')})\n`);
    io.stdout.write(
      r.frontChannelLogoutUrl
        ? `  Front-channel logout URL: ${r.frontChannelLogoutUrl}\n`
        : '  Front-channel logout URL: none (portals need sites.portal.centralCallbackHost for one URL that serves every client)\n',
    );
  };
  io.stdout.write('Add every URI to the app registration: Authentication → Web → Redirect URIs (Microsoft refuses any other with AADSTS50011).\n');
  io.stdout.write('Under Token configuration, add the optional ID token claims login_hint and xms_edov.\n\n');
  section('Staff app (Settings → Security → Single Sign-On):', list.staff);
  if (list.portal)
    section(`\nPortal app (sites.portal.entra${config.sites.portal?.entra ? ` ${config.sites.portal.entra.clientId}` : ', not configured'}):`, list.portal);
  return 0;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const when = (t: number | null) => (t === null ? 'never' : new Date(t).toISOString());

async function status(ctx: CliContext): Promise<number> {
  const { value: s } = await readStaff(ctx.store);
  const out = ctx.io.stdout;
  out.write('Staff SSO (Microsoft Entra ID)\n');
  out.write(`  enabled:         ${yesNo(s.enabled)}\n`);
  out.write(`  SSO only:        ${yesNo(s.ssoOnly)}${s.ssoOnly && s.enabled ? '  (password sign-in is refused; break glass: sso disable-sso-only)' : ''}\n`);
  out.write(`  tenant ID:       ${s.tenantId ?? '(not set)'}\n`);
  out.write(`  client ID:       ${s.clientId ?? '(not set)'}\n`);
  out.write(
    `  client secret:   ${s.clientSecretEnc ? `set ${when(s.secretSetAt)}, expires ${s.secretExpiresAt ? when(s.secretExpiresAt) : '(date not entered)'}` : '(not set)'}\n`,
  );
  for (const c of s.certificates ?? [])
    out.write(`  certificate:     ${c.thumbprint}, expires ${when(c.notAfter)}, ${c.testedAt ? `tested ${when(c.testedAt)}` : 'not tested'}\n`);
  if (s.roleMapping) out.write(`  admins from:     Entra ${s.roleMapping.source === 'roles' ? 'app roles' : 'groups'} ${s.roleMapping.values.join(', ')}\n`);
  out.write(`  last tested:     ${when(s.testedAt)}\n`);
  out.write(`  auto-provision:  ${yesNo(s.autoProvision)}\n`);
  out.write(`  last change:     ${when(s.updatedAt)}${s.updatedBy ? ` by ${s.updatedBy}` : ''}\n`);
  const portal = ctx.config.sites.portal;
  if (portal) {
    out.write(`Portal SSO (multi-tenant app ${portal.entra ? portal.entra.clientId : 'not configured'})\n`);
    for (const client of portal.clients) {
      const { value: v } = await readWithDefaults(ctx.store, SETTINGS.portalAuth, portalAuthKey(client.id));
      out.write(
        `  ${client.id}: SSO ${v.ssoEnabled ? 'on' : 'off'}, tenant ${v.tenantId ?? '(not set)'}, password ${v.passwordAllowed ? 'allowed' : 'off'}, consent ${v.consent.status}\n`,
      );
    }
  }
  return 0;
}

/** Apply a change to the staff SSO settings with compare-and-set; resolves to whether anything changed. */
async function changeStaff(ctx: CliContext, needed: (s: StaffSsoSettings) => boolean, patch: Partial<StaffSsoSettings>, what: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { value, version } = await readStaff(ctx.store);
    if (!needed(value)) return false;
    const now = Date.now();
    try {
      await putSignInSettings(ctx.store, ctx.config, STAFF_SSO_KEY, { ...value, ...patch, updatedBy: 'cli', updatedAt: now }, version, now);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'CONFLICT') continue;
      throw err;
    }
    const after = { ...value, ...patch };
    await ctx.store.appendAudit(
      settingsChangeEvent({
        at: now,
        setting: STAFF_SSO_KEY,
        realm: STAFF_REALM,
        action: what,
        outcome: 'success',
        changes: fieldChanges(value, after, Object.keys(patch) as (keyof StaffSsoSettings)[]),
        user: null,
        via: 'cli',
        ip: null,
      }),
    );
    return true;
  }
  throw new StoreError('CONFLICT', 'the SSO settings kept changing while writing; try again');
}

export async function runSsoCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = args;
  if (rest.length > 0 || command === undefined) {
    ctx.io.stderr.write(USAGE);
    return 2;
  }
  try {
    switch (command) {
      case 'status':
        return await status(ctx);
      case 'redirect-uris':
        return printRedirectUris([], ctx.config, ctx.io);
      case 'disable-sso-only': {
        const changed = await changeStaff(ctx, (s) => s.ssoOnly, { ssoOnly: false }, 'sso-only off (break glass)');
        ctx.io.stdout.write(
          changed
            ? 'SSO-only is now off: email + password sign-in is allowed again (within a few seconds on every replica).\n'
            : 'SSO-only was already off; nothing changed.\n',
        );
        return 0;
      }
      case 'disable': {
        const changed = await changeStaff(ctx, (s) => s.enabled || s.ssoOnly, { enabled: false, ssoOnly: false }, 'sso off');
        ctx.io.stdout.write(
          changed ? 'Staff SSO is now off (and SSO-only with it): people sign in with email + password.\n' : 'Staff SSO was already off; nothing changed.\n',
        );
        return 0;
      }
      default:
        ctx.io.stderr.write(`sso: unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    ctx.io.stderr.write(`sso: ${err instanceof StoreError ? `the store failed (${err.code}): ${err.message}` : 'unexpected error'}\n`);
    return 1;
  }
}
