/**
 * Local accounts, programmatically: the one implementation behind the
 * `regentra-gateway users` CLI, the tests and demo seeding.
 *
 * Every change is audited (`actor`: 'cli', an admin's user id, 'seed'…). Sessions
 * follow the account, decided in one place (`change` below): a change of how the
 * account signs in or whether it may (status, password, MFA, linked Microsoft
 * identity) and "sign out everywhere" set `sessionsValidAfter`, so every session
 * started before ends — disabling then enabling does not bring old cookies back; a
 * role change re-issues the sessions with the new role (src/session/revocation.ts
 * reads the account's role). Every replica notices within
 * `session.revocationCheckSeconds`; a caller inside the gateway process also calls
 * `core.revocation.forget(realm, uid)` to make it immediate there.
 */
import { readWithDefaults, SETTINGS } from '../../settings/store.ts';
import type { Config } from '../../config/schema.ts';
import type { SecretBox } from '../../store/secretbox.ts';
import { normalizeEmail, StoreError, type RealmId, type Store, type User, type UserPatch, type UserRole, type UserStatus } from '../../store/types.ts';
import { portalRealm, STAFF_REALM } from '../../routing/sites.ts';
import { STAFF_SSO_KEY } from '../policy.ts';
import { clearTotp, issueRecoveryCodes, setActiveTotpSecret } from '../totp/enrolment.ts';
import { hashPassword } from './hash.ts';
import { passwordProblem } from './policy.ts';
import { CONSUMER_TENANT_REFUSAL, isConsumerTenant } from '../entra/tenants.ts';
import { GUID } from '../../util/security.ts';
import { CodedError } from '../../errors.ts';

export type AccountErrorCode =
  | 'UNKNOWN_REALM'
  | 'INVALID_EMAIL'
  | 'INVALID_NAME'
  | 'INVALID_ROLE'
  | 'DUPLICATE_EMAIL'
  | 'WEAK_PASSWORD'
  | 'NO_SUCH_USER'
  | 'INVALID_IDENTITY'
  | 'IDENTITY_IN_USE'
  | 'NOT_LINKED'
  | 'LAST_ADMIN'
  | 'NO_LINK_HOST'
  | 'ROLE_FROM_ENTRA';

/** A refused account change; `message` is meant for the operator or user. */
export class AccountError extends CodedError<AccountErrorCode> {
  constructor(code: AccountErrorCode, message: string) {
    super('AccountError', code, message);
  }
}

export interface ChangeOptions {
  /** who makes the change, for the audit log (default 'system') */
  readonly actor?: string;
  readonly now?: () => number;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;
const MAX_EMAIL_LENGTH = 254;
const MAX_NAME_LENGTH = 200;
// eslint-disable-next-line no-control-regex -- rejecting control characters in names and e-mail addresses is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** `staff` or `portal:<clientId>` for a client in the config; throws UNKNOWN_REALM. */
export function parseRealm(config: Config, text: string): RealmId {
  if (text === STAFF_REALM) return STAFF_REALM;
  const clients = config.sites.portal?.clients ?? [];
  const id = text.startsWith('portal:') ? text.slice('portal:'.length) : null;
  if (id !== null && clients.some((c) => c.id === id)) return portalRealm(id);
  const known = [STAFF_REALM, ...clients.map((c) => portalRealm(c.id))].join(', ');
  throw new AccountError('UNKNOWN_REALM', `unknown realm "${text}": use one of ${known}`);
}

/** The email as given (trimmed) when it looks like an address; throws INVALID_EMAIL. */
export function checkEmail(email: string): string {
  const trimmed = email.trim();
  if (trimmed.length > MAX_EMAIL_LENGTH || !EMAIL.test(trimmed)) throw new AccountError('INVALID_EMAIL', `"${trimmed}" is not an email address`);
  return trimmed;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH || CONTROL.test(trimmed)) {
    throw new AccountError('INVALID_NAME', `a display name is 1 to ${MAX_NAME_LENGTH} characters, without control characters`);
  }
  return trimmed;
}

function checkRole(realm: RealmId, role: string): UserRole {
  if (role !== 'admin' && role !== 'member') throw new AccountError('INVALID_ROLE', `role must be "admin" or "member", not "${role}"`);
  if (realm !== STAFF_REALM && role !== 'member') throw new AccountError('INVALID_ROLE', 'roles apply to staff accounts only; portal users are members');
  return role;
}

function checkPassword(password: string, minLength: number, email: string): void {
  const problem = passwordProblem(password, { minLength, email });
  if (problem !== null) throw new AccountError('WEAK_PASSWORD', problem);
}

async function audit(store: Store, type: string, user: User, opts: ChangeOptions, details: Record<string, unknown> = {}): Promise<void> {
  await store.appendAudit({
    at: (opts.now ?? Date.now)(),
    type,
    outcome: 'success',
    realm: user.realm,
    userId: user.id,
    actor: opts.actor ?? 'system',
    ip: null,
    details,
  });
}

/** The user with this email in `realm`; throws NO_SUCH_USER. */
export async function findLocalUser(store: Store, realm: RealmId, email: string): Promise<User> {
  const user = await store.getUserByEmail(realm, email);
  if (user === null) throw new AccountError('NO_SUCH_USER', `no user ${normalizeEmail(email)} in realm ${realm}`);
  return user;
}

export interface NewLocalUser extends ChangeOptions {
  readonly realm: RealmId;
  readonly email: string;
  readonly name: string;
  /** 'admin' or 'member' (checked; admin for staff only); default 'member' */
  readonly role?: string;
  /** null: no password (the person signs in with Microsoft once an admin links the account, or by a verified email) */
  readonly password: string | null;
  /** `config.auth.password.minLength` */
  readonly minLength: number;
}

/** Create an active account with a password (the first password sign-in enrols TOTP where required). */
export async function createLocalUser(store: Store, input: NewLocalUser): Promise<User> {
  const email = checkEmail(input.email);
  const name = checkName(input.name);
  const role = checkRole(input.realm, input.role ?? 'member');
  if (input.password !== null) checkPassword(input.password, input.minLength, email);
  const duplicate = () => new AccountError('DUPLICATE_EMAIL', `${normalizeEmail(email)} already has an account in realm ${input.realm}`);
  if ((await store.getUserByEmail(input.realm, email)) !== null) throw duplicate();
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  try {
    const user = await store.createUser({ realm: input.realm, email, displayName: name, role, passwordHash });
    await audit(store, 'user.create', user, input, { role, password: passwordHash !== null });
    return user;
  } catch (err) {
    throw err instanceof StoreError && err.code === 'DUPLICATE' ? duplicate() : err;
  }
}

/** Fields whose change ends the account's sessions (role is not one: sessions are re-issued with it). */
const ENDS_SESSIONS: ReadonlyArray<keyof UserPatch> = ['status', 'passwordHash', 'totpSecretEnc', 'totpEnrolledAt', 'externalTid', 'externalOid'];

/** The one write of an account change: ends its sessions where the change calls for it, then audits. */
async function change(
  store: Store,
  user: User,
  patch: UserPatch,
  type: string,
  opts: ChangeOptions & { readonly endSessions?: boolean },
  details?: Record<string, unknown>,
): Promise<User> {
  const ends = opts.endSessions === true || ENDS_SESSIONS.some((f) => patch[f] !== undefined);
  const updated = await store.updateUser(user.realm, user.id, ends ? { ...patch, sessionsValidAfter: (opts.now ?? Date.now)() } : patch);
  await audit(store, type, updated, opts, details);
  return updated;
}

/** Set a new password (policy-checked) and end the user's sessions. */
export async function setPassword(store: Store, user: User, password: string, opts: ChangeOptions & { readonly minLength: number }): Promise<User> {
  checkPassword(password, opts.minLength, user.email);
  const passwordHash = await hashPassword(password);
  await store.clearFailures(user.realm, user.id);
  return change(store, user, { passwordHash }, 'user.password.reset', opts);
}

/**
 * Set a staff role by hand. Refused for an account linked to Microsoft while Settings →
 * Single Sign-On maps Entra app roles or groups to the admin role: its role comes from
 * Entra at each sign-in (src/auth/entra/roles.ts), so a hand-made change would not last.
 */
export async function setRole(store: Store, user: User, role: string, opts: ChangeOptions = {}): Promise<User> {
  const checked = checkRole(user.realm, role);
  if (user.realm === STAFF_REALM && user.externalOid !== null && checked !== user.role) {
    const sso = (await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY)).value;
    const mapping = sso?.roleMapping;
    if (mapping && mapping.values.length > 0) {
      const where = mapping.source === 'groups' ? 'group membership' : 'app role assignment';
      throw new AccountError(
        'ROLE_FROM_ENTRA',
        `the role of ${user.email} comes from Microsoft Entra (Settings → Single Sign-On → Roles from Microsoft Entra): change the person's ${where} in Azure; it applies at their next sign-in`,
      );
    }
  }
  await keepAnAdmin(store, user, { ...user, role: checked }, 'demote');
  return change(store, user, { role: checked }, 'user.role', opts, { from: user.role, to: checked });
}

/** Disable (sessions end on their next request, and stay ended after an enable) or enable an account. */
export async function setStatus(store: Store, user: User, status: UserStatus, opts: ChangeOptions = {}): Promise<User> {
  await keepAnAdmin(store, user, { ...user, status }, 'disable');
  return change(store, user, { status }, status === 'disabled' ? 'user.disable' : 'user.enable', opts);
}

/** End every session of the user (on their next request). */
export async function signOutEverywhere(store: Store, user: User, opts: ChangeOptions = {}): Promise<User> {
  return change(store, user, {}, 'user.signout-everywhere', { ...opts, endSessions: true });
}

/** Forget TOTP and recovery codes (the next password sign-in enrols again) and end the user's sessions. */
export async function resetMfa(store: Store, user: User, opts: ChangeOptions = {}): Promise<User> {
  await clearTotp(store, user);
  return change(store, user, {}, 'user.mfa.reset', { ...opts, endSessions: true });
}

/**
 * Link the account to a Microsoft identity (tenant id + object id), the one way an
 * account with a password, an authenticator or the admin role gets Microsoft sign-in
 * (a token's email never links those: src/auth/entra/users.ts). The account's sessions
 * end, as on every change of how it signs in.
 */
export async function linkIdentity(
  store: Store,
  user: User,
  identity: { readonly tid: string; readonly oid: string },
  opts: ChangeOptions = {},
): Promise<User> {
  if (!GUID.test(identity.tid) || !GUID.test(identity.oid)) {
    throw new AccountError(
      'INVALID_IDENTITY',
      'the tenant id and object id are GUIDs (Entra admin center → Users → the person → Object ID; Overview → Tenant ID)',
    );
  }
  if (isConsumerTenant(identity.tid)) throw new AccountError('INVALID_IDENTITY', `tenant ${identity.tid} ${CONSUMER_TENANT_REFUSAL}`);
  const tid = identity.tid.toLowerCase();
  const oid = identity.oid.toLowerCase();
  const holder = await store.getUserByExternalId(user.realm, tid, oid);
  if (holder !== null && holder.id !== user.id)
    throw new AccountError('IDENTITY_IN_USE', `that Microsoft identity is linked to ${holder.email} in realm ${user.realm}: unlink it there first`);
  const from = user.externalOid === null ? null : { tid: user.externalTid, oid: user.externalOid };
  return change(store, user, { externalTid: tid, externalOid: oid }, 'user.link', opts, { tid, oid, from });
}

/** Remove the account's Microsoft identity; its sessions end. */
export async function unlinkIdentity(store: Store, user: User, opts: ChangeOptions = {}): Promise<User> {
  if (user.externalOid === null && user.externalTid === null) throw new AccountError('NOT_LINKED', `${user.email} is not linked to a Microsoft account`);
  await keepAnAdmin(store, user, { ...user, externalTid: null, externalOid: null }, 'unlink');
  return change(store, user, { externalTid: null, externalOid: null }, 'user.unlink', opts, { tid: user.externalTid, oid: user.externalOid });
}

/** Clear failed attempts and any lockout. */
export async function unlockUser(store: Store, user: User, opts: ChangeOptions = {}): Promise<void> {
  await store.clearFailures(user.realm, user.id);
  await audit(store, 'user.unlock', user, opts);
}

/** The staff SSO switches that decide which sign-in methods work (the stored setting over its defaults). */
async function staffSignInMethods(store: Store): Promise<{ readonly sso: boolean; readonly ssoOnly: boolean }> {
  const s = (await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY)).value;
  const sso = s.enabled && s.tenantId !== null && s.clientId !== null && s.clientSecretEnc !== null;
  return { sso, ssoOnly: sso && s.ssoOnly };
}

/**
 * Can this account reach the settings pages: an active staff admin with a sign-in
 * method that works now — a password (unless staff SSO-only is on) or a linked
 * Microsoft identity (while staff SSO is on).
 */
export function reachesSettings(user: User, methods: { readonly sso: boolean; readonly ssoOnly: boolean }): boolean {
  if (user.realm !== STAFF_REALM || user.role !== 'admin' || user.status !== 'active') return false;
  const password = user.passwordHash !== null && !methods.ssoOnly;
  const microsoft = user.externalOid !== null && methods.sso;
  return password || microsoft;
}

const LAST_ADMIN_TEXT: Readonly<Record<'demote' | 'disable' | 'unlink', string>> = Object.freeze({
  demote: 'is the last admin who can reach the settings: make another account an admin first',
  disable: 'is the last admin who can reach the settings and cannot be disabled: make another account an admin first',
  unlink: 'is the last admin who can reach the settings, and Microsoft is the only way they can sign in: give another admin access first',
});

/**
 * Refuse a change that would leave no active staff admin able to sign in to the
 * settings (the pages and the CLI share this rule). `after` is the account as the
 * change would leave it. A check, then the write: two admins demoting each other at
 * the same instant are not serialised (the CLI remains the way back).
 */
export async function keepAnAdmin(store: Store, before: User, after: User, change: 'demote' | 'disable' | 'unlink'): Promise<void> {
  if (before.realm !== STAFF_REALM) return;
  const methods = await staffSignInMethods(store);
  if (!reachesSettings(before, methods) || reachesSettings(after, methods)) return;
  const others = (await store.listUsers(STAFF_REALM)).filter((u) => u.id !== before.id && reachesSettings(u, methods));
  if (others.length === 0) throw new AccountError('LAST_ADMIN', `${before.email} ${LAST_ADMIN_TEXT[change]}`);
}

/**
 * The account's own new authenticator (self-service, after a code from the current
 * one): `secret` becomes the active TOTP secret, fresh recovery codes replace the old
 * ones, and the account's sessions end (the caller re-issues the one in use).
 */
export async function replaceAuthenticator(
  store: Store,
  box: SecretBox,
  user: User,
  secret: string,
  opts: ChangeOptions = {},
): Promise<{ user: User; recoveryCodes: string[] }> {
  const at = (opts.now ?? Date.now)();
  const recoveryCodes = await setActiveTotpSecret(store, box, user, secret, at);
  const updated = await change(store, user, { sessionsValidAfter: at }, 'mfa.replace', opts, { method: 'totp' });
  return { user: updated, recoveryCodes };
}

/** New recovery codes for the account (the old ones stop working); returned once, in clear. */
export async function regenerateRecoveryCodes(store: Store, user: User, opts: ChangeOptions = {}): Promise<string[]> {
  const codes = await issueRecoveryCodes(store, user.id);
  await audit(store, 'mfa.recovery-codes', user, opts, { count: codes.length });
  return codes;
}
