/**
 * Who an Entra identity is in a realm. Users are keyed by tid + oid, never by email:
 *
 * 1. the account linked to this tid + oid, if any;
 * 2. else, only where the site allows automatic linking, the account whose email the
 *    ID token names AND vouches for (`xms_edov: true`: the email domain's owner is
 *    verified), provided that account is linked to no other identity, is not an admin,
 *    and has no password or authenticator of its own (those accounts are linked by an
 *    admin, `regentra-gateway users link`, never by a claim). Microsoft documents that
 *    `email` is otherwise unverified and must not be used for authorization; Graph
 *    `mail`, `preferred_username` and a guest's `#EXT#` UPN never link;
 * 3. else a new `member` where the realm provisions on first sign-in — unless an
 *    account already holds that email, which is then not taken over: the person is
 *    told to ask an admin to link their Microsoft account (SSO_NOT_LINKED, audited
 *    with the identity so the admin can link it).
 */
import type { RealmId, Store, User } from '../../store/types.ts';
import { normalizeEmail, StoreError } from '../../store/types.ts';
import { EntraError } from './errors.ts';
import type { EntraIdentity } from './claims.ts';

export interface ResolveOptions {
  readonly realm: RealmId;
  /** create unknown users as `member`s */
  readonly autoProvision: boolean;
  /** link an unlinked account by an email the token vouches for (`xms_edov`) */
  readonly autoLink: boolean;
  /** the email for a new account when the ID token has none (Graph), asked only when needed */
  readonly lookupEmail: () => Promise<string | null>;
}

export interface Resolved {
  readonly user: User;
  readonly outcome: 'existing' | 'linked' | 'created';
}

function usable(user: User): User {
  if (user.status !== 'active') throw new EntraError('SSO_USER_DISABLED');
  return user;
}

function linked(user: User): boolean {
  return user.externalOid !== null || user.externalTid !== null;
}

/** An account a verified email may link without an admin: no admin, no credentials of its own. */
export function autoLinkable(user: User): boolean {
  return !linked(user) && user.role !== 'admin' && user.passwordHash === null && user.totpSecretEnc === null;
}

/** what an admin needs to link the identity by hand (audited; never a token) */
function notLinked(id: EntraIdentity, email: string | null, reason: string): EntraError {
  return new EntraError('SSO_NOT_LINKED', {
    audit: { reason, tid: id.tid, oid: id.oid, claimedEmail: email, emailVerified: id.emailVerified },
  });
}

export async function resolveUser(store: Store, id: EntraIdentity, opts: ResolveOptions): Promise<Resolved> {
  const bound = await store.getUserByExternalId(opts.realm, id.tid, id.oid);
  if (bound) return { user: usable(bound), outcome: 'existing' };

  if (opts.autoLink && id.emailVerified && id.email !== null) {
    const candidate = await store.getUserByEmail(opts.realm, normalizeEmail(id.email));
    if (candidate) {
      if (!autoLinkable(candidate)) throw notLinked(id, id.email, linked(candidate) ? 'linked-to-another-identity' : 'needs-admin-link');
      usable(candidate);
      // an account with no credentials and no link has no sessions to end
      const user = await store.updateUser(opts.realm, candidate.id, { externalTid: id.tid, externalOid: id.oid });
      return { user, outcome: 'linked' };
    }
  }

  // a new identity: an account only where the realm provisions, and never over an existing one
  if (!opts.autoProvision) throw new EntraError('SSO_NOT_PROVISIONED', { audit: { tid: id.tid, oid: id.oid, claimedEmail: id.email } });
  const email = id.email ?? (await opts.lookupEmail());
  if (email === null) throw new EntraError('SSO_NO_EMAIL');
  if (await store.getUserByEmail(opts.realm, normalizeEmail(email))) throw notLinked(id, email, 'email-in-use');
  try {
    const user = await store.createUser({
      realm: opts.realm,
      email: normalizeEmail(email),
      emailDisplay: email,
      displayName: id.name || email,
      role: 'member',
      status: 'active',
      passwordHash: null,
      externalTid: id.tid,
      externalOid: id.oid,
    });
    return { user, outcome: 'created' };
  } catch (err) {
    if (err instanceof StoreError && err.code === 'DUPLICATE') {
      // another replica provisioned the same person at the same moment
      const raced = await store.getUserByExternalId(opts.realm, id.tid, id.oid);
      if (raced) return { user: usable(raced), outcome: 'existing' };
      throw notLinked(id, email, 'email-in-use');
    }
    throw err;
  }
}
