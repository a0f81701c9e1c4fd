/**
 * Who an Entra identity is in a realm. First by the binding (tid + oid); else by the
 * email Microsoft vouches for (the ID token's `email`, or Graph `mail` /
 * `userPrincipalName`), binding that account to tid + oid; else a new `member` when
 * the realm provisions on first sign-in. Disabled accounts and accounts already bound
 * to another Microsoft identity are refused.
 */
import type { RealmId, Store, User } from '../../store/types.ts';
import { normalizeEmail, StoreError } from '../../store/types.ts';
import { EntraError } from './errors.ts';
import type { EntraIdentity } from './claims.ts';

export interface ResolveOptions {
  readonly realm: RealmId;
  /** create unknown users as `member`s */
  readonly autoProvision: boolean;
  /** the email when the ID token has none (Graph), asked only when needed */
  readonly lookupEmail: () => Promise<string | null>;
}

export interface Resolved {
  readonly user: User;
  readonly outcome: 'existing' | 'bound' | 'created';
}

function usable(user: User): User {
  if (user.status !== 'active') throw new EntraError('SSO_USER_DISABLED');
  return user;
}

function boundElsewhere(user: User, id: EntraIdentity): boolean {
  if (user.externalOid === null && user.externalTid === null) return false;
  return user.externalTid?.toLowerCase() !== id.tid || user.externalOid?.toLowerCase() !== id.oid;
}

export async function resolveUser(store: Store, id: EntraIdentity, opts: ResolveOptions): Promise<Resolved> {
  const bound = await store.getUserByExternalId(opts.realm, id.tid, id.oid);
  if (bound) return { user: usable(bound), outcome: 'existing' };

  const email = id.email ?? (await opts.lookupEmail());
  if (email === null) throw new EntraError(opts.autoProvision ? 'SSO_NO_EMAIL' : 'SSO_NOT_PROVISIONED');
  const normalized = normalizeEmail(email);

  const byEmail = await store.getUserByEmail(opts.realm, normalized);
  if (byEmail) {
    if (boundElsewhere(byEmail, id)) throw new EntraError('SSO_ACCOUNT_CONFLICT');
    usable(byEmail);
    const user = await store.updateUser(opts.realm, byEmail.id, { externalTid: id.tid, externalOid: id.oid });
    return { user, outcome: 'bound' };
  }

  if (!opts.autoProvision) throw new EntraError('SSO_NOT_PROVISIONED');
  try {
    const user = await store.createUser({
      realm: opts.realm, email: normalized, emailDisplay: email, displayName: id.name || email, role: 'member', status: 'active',
      passwordHash: null, externalTid: id.tid, externalOid: id.oid,
    });
    return { user, outcome: 'created' };
  } catch (err) {
    // another replica provisioned the same person at the same moment
    if (err instanceof StoreError && err.code === 'DUPLICATE') {
      const raced = await store.getUserByExternalId(opts.realm, id.tid, id.oid);
      if (raced) return { user: usable(raced), outcome: 'existing' };
      throw new EntraError('SSO_ACCOUNT_CONFLICT', { cause: err });
    }
    throw err;
  }
}
