/**
 * Roles from Entra.
 *
 * Staff: when Settings → Single Sign-On names app roles (`roles` claim of the staff app)
 * or group object ids (`groups` claim) whose members are Regentra admins, a staff member
 * signing in with Microsoft is an admin exactly when the ID token lists one of them, else
 * a member — applied at each sign-in, audited when it changes. The role of a
 * Microsoft-linked account then cannot be changed by hand (password/users.ts setRole).
 *
 * Groups overage: with too many groups Entra leaves them out of the token
 * (`_claim_names.groups` / `hasgroups`). The rule cannot be decided, so the sign-in is
 * refused (fail closed) with a page telling the admin to use app roles or send fewer
 * groups — never silently "member" or "admin".
 */
import type { Core } from '../../core.ts';
import type { RoleMapping, StaffSsoSettings } from '../policy.ts';
import { STAFF_REALM } from '../../routing/sites.ts';
import type { User, UserRole } from '../../store/types.ts';
import { EntraError } from './errors.ts';
import type { EntraIdentity } from './claims.ts';

export type RoleClaims = Pick<EntraIdentity, 'roles' | 'groups' | 'groupsOverage'>;

/** The staff role the mapping gives; null when no mapping is configured. Throws SSO_GROUPS_OVERAGE. */
export function staffRoleFromEntra(mapping: RoleMapping | null | undefined, claims: RoleClaims): UserRole | null {
  if (!mapping || mapping.values.length === 0) return null;
  if (mapping.source === 'groups') {
    if (claims.groupsOverage) throw new EntraError('SSO_GROUPS_OVERAGE', { audit: { reason: 'groups overage', source: 'groups' } });
    const admins = new Set(mapping.values.map((v) => v.toLowerCase()));
    return claims.groups.some((g) => admins.has(g.toLowerCase())) ? 'admin' : 'member';
  }
  const admins = new Set(mapping.values);
  return claims.roles.some((r) => admins.has(r)) ? 'admin' : 'member';
}

const SESSION_ROLES_MAX_CHARS = 1024;

/** The app roles a session keeps (its cookie must stay small): in order, up to 1 KiB in all. */
export function sessionRoles(roles: readonly string[]): readonly string[] {
  const out: string[] = [];
  let size = 0;
  for (const r of roles) {
    if (size + r.length + 1 > SESSION_ROLES_MAX_CHARS) break;
    out.push(r);
    size += r.length + 1;
  }
  return Object.freeze(out);
}

/** The mapping is configured: staff roles of Microsoft-linked accounts come from Entra. */
export function roleFromEntra(s: Pick<StaffSsoSettings, 'roleMapping'>): boolean {
  return (s.roleMapping?.values.length ?? 0) > 0;
}

/** Apply the mapping to a staff user at sign-in (store + audit when the role changes); the user as it now is. */
export async function applyStaffRole(core: Core, user: User, claims: RoleClaims): Promise<User> {
  if (user.realm !== STAFF_REALM) return user;
  const s = await core.policy.staffSso();
  const role = staffRoleFromEntra(s.roleMapping, claims);
  if (role === null || role === user.role) return user;
  const { store, auditor, now, revocation } = core;
  // a demotion also ends the person's other sessions (they carry the admin role); this sign-in's session starts after
  const updated = await store.updateUser(user.realm, user.id, { role, ...(role === 'member' ? { sessionsValidAfter: now() - 1 } : {}) });
  revocation.forget(user.realm, user.id);
  await auditor.record({
    type: 'user.role',
    outcome: 'success',
    realm: user.realm,
    userId: user.id,
    actor: 'entra',
    ip: null,
    details: { from: user.role, to: role, source: s.roleMapping?.source === 'groups' ? 'entra groups' : 'entra app roles', at: now() },
  });
  return updated;
}
