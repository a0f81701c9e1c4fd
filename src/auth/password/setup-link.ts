/**
 * One-time set-up links: how a person an admin added (or whose password an admin
 * resets) chooses a password and sets up their authenticator, without anyone ever
 * seeing a temporary password.
 *
 * - the token is 32 random bytes (base64url), shown once to the admin inside the link
 *   and never stored: the store keeps its SHA-256 only (a setting keyed by the hash);
 * - valid for 72 hours, used once (`consumeOnce` on the hash, atomic across replicas);
 * - bound to the account's realm, so a staff link works only on the staff host and a
 *   portal link only on that client's hosts (the host names the realm);
 * - a newer link for the same account replaces the older one (the account records
 *   which hash is current);
 * - opening the link changes nothing (link previews in chat apps do not burn it); the
 *   password form's post uses it up, then the password is set (the old password keeps
 *   working until then), then the sign-in continues at the authenticator step.
 *
 * The token travels as the query parameter `token` (the access log redacts it) and
 * then as a form field.
 */
import { putSetting, readSetting, SETTINGS } from '../../settings/store.ts';
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { RealmId, Store, User } from '../../store/types.ts';
import { PATHS } from '../../routing/reserved.ts';
import { STAFF_REALM } from '../../routing/sites.ts';
import { primaryStaffHost, publicOrigin } from '../entra/urls.ts';
import { AccountError, type ChangeOptions } from './users.ts';

export const SETUP_LINK_TTL_MS = 72 * 3600_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const linkKey = (hash: string) => `account.setup-link.${hash}`;
const currentKey = (realm: RealmId, uid: string) => `account.setup-link-of.${realm}.${uid}`;
const onceKey = (hash: string) => `setup-link:${hash}`;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The host a realm's links are for: the first staff host, or the client's first exact host. */
export function linkHost(config: Config, realm: RealmId): string | null {
  if (realm === STAFF_REALM) return primaryStaffHost(config);
  const id = realm.startsWith('portal:') ? realm.slice('portal:'.length) : null;
  const client = config.sites.portal?.clients.find((c) => c.id === id);
  return client?.hosts.find((h) => !h.startsWith('*.')) ?? null;
}

export interface IssuedLink {
  /** the whole link, token included: shown once to the admin, never logged or stored */
  readonly url: string;
  readonly expiresAt: number;
}

/** A new set-up link for `user` (any earlier one stops working); audited as `user.setup-link`. */
export async function issueSetupLink(
  store: Store,
  config: Config,
  user: User,
  opts: ChangeOptions & { readonly reason: 'new-account' | 'reset' },
): Promise<IssuedLink> {
  const host = linkHost(config, user.realm);
  if (host === null) throw new AccountError('NO_LINK_HOST', `the realm ${user.realm} has no exact host name (only wildcards) for a set-up link`);
  const now = (opts.now ?? Date.now)();
  const token = randomBytes(32).toString('base64url');
  const hash = hashToken(token);
  const expiresAt = now + SETUP_LINK_TTL_MS;
  await putSetting(store, SETTINGS.setupLink, linkKey(hash), { realm: user.realm, uid: user.id, expiresAt, createdAt: now });
  await putSetting(store, SETTINGS.currentSetupLink, currentKey(user.realm, user.id), { hash, expiresAt });
  await store.appendAudit({
    at: now,
    type: 'user.setup-link',
    outcome: 'success',
    realm: user.realm,
    userId: user.id,
    actor: opts.actor ?? 'system',
    ip: null,
    details: { reason: opts.reason, expiresAt, host },
  });
  return { url: `${publicOrigin(config, host)}${PATHS.setup}?token=${token}`, expiresAt };
}

/** When the account's current set-up link expires, or null when it has none that can still be used. */
export async function pendingSetupLink(store: Store, user: User, now: number): Promise<number | null> {
  const current = (await readSetting(store, SETTINGS.currentSetupLink, currentKey(user.realm, user.id))).value;
  if (!current || current.expiresAt <= now || (await store.hasOnceKey(onceKey(current.hash), now))) return null;
  return current.expiresAt;
}

export type LinkProblem = 'invalid' | 'expired' | 'used' | 'replaced' | 'disabled';

export type LinkCheck =
  { readonly ok: true; readonly user: User; readonly hash: string; readonly expiresAt: number } | { readonly ok: false; readonly problem: LinkProblem };

/** Is `token` a usable set-up link for this realm (the request's host) at `now`? Read-only. */
export async function checkSetupLink(store: Store, realm: RealmId, token: unknown, now: number): Promise<LinkCheck> {
  if (typeof token !== 'string' || !TOKEN.test(token)) return { ok: false, problem: 'invalid' };
  const hash = hashToken(token);
  const record = (await readSetting(store, SETTINGS.setupLink, linkKey(hash))).value;
  // another realm's link is no link here (the host decides the realm)
  if (!record || record.realm !== realm) return { ok: false, problem: 'invalid' };
  if (await store.hasOnceKey(onceKey(hash), now)) return { ok: false, problem: 'used' };
  if (record.expiresAt <= now) return { ok: false, problem: 'expired' };
  const current = (await readSetting(store, SETTINGS.currentSetupLink, currentKey(realm, record.uid))).value;
  if (!current || current.hash !== hash) return { ok: false, problem: 'replaced' };
  const user = await store.getUser(realm, record.uid);
  if (user === null) return { ok: false, problem: 'invalid' };
  if (user.status !== 'active') return { ok: false, problem: 'disabled' };
  return { ok: true, user, hash, expiresAt: record.expiresAt };
}

/** Use the link up: true exactly once, on any replica. */
export function consumeSetupLink(store: Store, check: { readonly hash: string; readonly expiresAt: number }): Promise<boolean> {
  return store.consumeOnce(onceKey(check.hash), check.expiresAt + 60_000);
}
