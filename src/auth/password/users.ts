/**
 * Local accounts, programmatically: the one implementation behind the
 * `regentra-gateway users` CLI, the tests and demo seeding.
 *
 * Every change is audited (`actor`: 'cli', an admin's user id, 'seed'…). Changes
 * that should end a user's sessions (disable, password or MFA reset, sign out
 * everywhere) do so through the store (`status`, `sessionsValidAfter`): every
 * replica notices within `session.revocationCheckSeconds`. A caller inside the
 * gateway process also calls `app.gateway.revocation.forget(realm, uid)`.
 */
import type { Config } from '../../config/schema.ts';
import type { SecretBox } from '../../store/secretbox.ts';
import { normalizeEmail, StoreError, type RealmId, type Store, type User, type UserPatch, type UserRole, type UserStatus } from '../../store/types.ts';
import { portalRealm, STAFF_REALM } from '../../routing/sites.ts';
import { clearTotp, setActiveTotpSecret } from '../totp/enrolment.ts';
import { newTotpSecret } from '../totp/totp.ts';
import { hashPassword } from './hash.ts';
import { passwordProblem } from './policy.ts';
import { STAFF_SSO_KEY, type StaffSsoSettings } from '../policy.ts';

export type AccountErrorCode =
  | 'UNKNOWN_REALM' | 'INVALID_EMAIL' | 'INVALID_NAME' | 'INVALID_ROLE' | 'DUPLICATE_EMAIL' | 'WEAK_PASSWORD' | 'NO_SUCH_USER'
  | 'INVALID_IDENTITY' | 'IDENTITY_IN_USE' | 'NOT_LINKED' | 'ROLE_FROM_ENTRA';

/** A refused account change; `message` is meant for the operator or user. */
export class AccountError extends Error {
  readonly code: AccountErrorCode;
  constructor(code: AccountErrorCode, message: string) {
    super(message);
    this.name = 'AccountError';
    this.code = code;
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
  await store.appendAudit({ at: (opts.now ?? Date.now)(), type, outcome: 'success', realm: user.realm, userId: user.id, actor: opts.actor ?? 'system', ip: null, details });
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

async function change(store: Store, user: User, patch: UserPatch, type: string, opts: ChangeOptions, details?: Record<string, unknown>): Promise<User> {
  const updated = await store.updateUser(user.realm, user.id, patch);
  await audit(store, type, updated, opts, details);
  return updated;
}

/** Set a new password (policy-checked) and end the user's sessions. */
export async function setPassword(store: Store, user: User, password: string, opts: ChangeOptions & { readonly minLength: number }): Promise<User> {
  checkPassword(password, opts.minLength, user.email);
  const passwordHash = await hashPassword(password);
  await store.clearFailures(user.realm, user.id);
  return change(store, user, { passwordHash, sessionsValidAfter: (opts.now ?? Date.now)() }, 'user.password.reset', opts);
}

/**
 * Set a staff role by hand. Refused for an account linked to Microsoft while Settings →
 * Single Sign-On maps Entra app roles or groups to the admin role: its role comes from
 * Entra at each sign-in (src/auth/entra/roles.ts), so a hand-made change would not last.
 */
export async function setRole(store: Store, user: User, role: string, opts: ChangeOptions = {}): Promise<User> {
  const checked = checkRole(user.realm, role);
  if (user.realm === STAFF_REALM && user.externalOid !== null && checked !== user.role) {
    const sso = (await store.getSetting<Partial<StaffSsoSettings>>(STAFF_SSO_KEY))?.value;
    const mapping = sso?.roleMapping;
    if (mapping && mapping.values.length > 0) {
      const where = mapping.source === 'groups' ? 'group membership' : 'app role assignment';
      throw new AccountError('ROLE_FROM_ENTRA', `the role of ${user.email} comes from Microsoft Entra (Settings → Single Sign-On → Roles from Microsoft Entra): change the person's ${where} in Azure; it applies at their next sign-in`);
    }
  }
  return change(store, user, { role: checked }, 'user.role', opts, { from: user.role, to: checked });
}

/** Disable (sessions end on their next request) or enable an account. */
export async function setStatus(store: Store, user: User, status: UserStatus, opts: ChangeOptions = {}): Promise<User> {
  return change(store, user, { status }, status === 'disabled' ? 'user.disable' : 'user.enable', opts);
}

/** End every session of the user (on their next request). */
export async function signOutEverywhere(store: Store, user: User, opts: ChangeOptions = {}): Promise<User> {
  return change(store, user, { sessionsValidAfter: (opts.now ?? Date.now)() }, 'user.signout-everywhere', opts);
}

/** Forget TOTP and recovery codes (the next password sign-in enrols again) and end the user's sessions. */
export async function resetMfa(store: Store, user: User, opts: ChangeOptions = {}): Promise<User> {
  await clearTotp(store, user);
  return change(store, user, { sessionsValidAfter: (opts.now ?? Date.now)() }, 'user.mfa.reset', opts);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Link the account to a Microsoft identity (tenant id + object id), the one way an
 * account with a password, an authenticator or the admin role gets Microsoft sign-in
 * (a token's email never links those: src/auth/entra/users.ts). The account's sessions
 * end, as on every change of how it signs in.
 */
export async function linkIdentity(store: Store, user: User, identity: { readonly tid: string; readonly oid: string }, opts: ChangeOptions = {}): Promise<User> {
  if (!GUID.test(identity.tid) || !GUID.test(identity.oid)) {
    throw new AccountError('INVALID_IDENTITY', 'the tenant id and object id are GUIDs (Entra admin center → Users → the person → Object ID; Overview → Tenant ID)');
  }
  const tid = identity.tid.toLowerCase();
  const oid = identity.oid.toLowerCase();
  const holder = await store.getUserByExternalId(user.realm, tid, oid);
  if (holder !== null && holder.id !== user.id) throw new AccountError('IDENTITY_IN_USE', `that Microsoft identity is linked to ${holder.email} in realm ${user.realm}: unlink it there first`);
  const from = user.externalOid === null ? null : { tid: user.externalTid, oid: user.externalOid };
  return change(store, user, { externalTid: tid, externalOid: oid, sessionsValidAfter: (opts.now ?? Date.now)() }, 'user.link', opts, { tid, oid, from });
}

/** Remove the account's Microsoft identity; its sessions end. */
export async function unlinkIdentity(store: Store, user: User, opts: ChangeOptions = {}): Promise<User> {
  if (user.externalOid === null && user.externalTid === null) throw new AccountError('NOT_LINKED', `${user.email} is not linked to a Microsoft account`);
  return change(store, user, { externalTid: null, externalOid: null, sessionsValidAfter: (opts.now ?? Date.now)() }, 'user.unlink', opts, { tid: user.externalTid, oid: user.externalOid });
}

/** Clear failed attempts and any lockout. */
export async function unlockUser(store: Store, user: User, opts: ChangeOptions = {}): Promise<void> {
  await store.clearFailures(user.realm, user.id);
  await audit(store, 'user.unlock', user, opts);
}

/**
 * Turn TOTP on without the enrolment page (demo seeding, tests): stores `secret`
 * (or a new one) sealed, and returns it with fresh recovery codes.
 */
export async function enrolTotpForDemo(store: Store, box: SecretBox, user: User, opts: ChangeOptions & { readonly secret?: string } = {}): Promise<{ secret: string; recoveryCodes: string[] }> {
  const secret = opts.secret ?? newTotpSecret();
  const recoveryCodes = await setActiveTotpSecret(store, box, user, secret, (opts.now ?? Date.now)());
  await audit(store, 'mfa.enroll', user, opts, { method: 'totp', seeded: true });
  return { secret, recoveryCodes };
}
