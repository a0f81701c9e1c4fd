// The person's Microsoft session per tenant, as Entra keeps it: its id is the `sid` claim of
// every ID token issued in it (the same for every app), and signing out of Microsoft ends it
// and makes Microsoft load each app's front-channel logout URL with `sid` and `iss`
// (fe.signOutOfMicrosoft returns those URLs; a test loads them as the hidden frames would).
import { randomUUID } from 'node:crypto';
import type { FakeApp, Runtime, TenantBase } from './types.ts';
import { withQuery } from './http.ts';

/** by issuer (unique per running stand-in: it names the port): oid → sid */
const sessions = new Map<string, Map<string, string>>();

function of(tenant: TenantBase): Map<string, string> {
  let m = sessions.get(tenant.issuer);
  if (!m) sessions.set(tenant.issuer, (m = new Map()));
  return m;
}

/** The user's current Microsoft session id in this tenant (started on first use). */
export function microsoftSid(tenant: TenantBase, oid: string): string {
  const m = of(tenant);
  let sid = m.get(oid.toLowerCase());
  if (!sid) m.set(oid.toLowerCase(), (sid = randomUUID()));
  return sid;
}

/** End the session; the front-channel logout URLs Microsoft would load, one per app with one registered. */
export function signOutOfMicrosoft(rt: Runtime, tenant: TenantBase, oid: string): string[] {
  const m = of(tenant);
  const sid = m.get(oid.toLowerCase());
  if (!sid) return [];
  m.delete(oid.toLowerCase());
  return [...rt.apps.values()]
    .filter((a): a is FakeApp & { frontChannelLogoutUrl: string } => typeof a.frontChannelLogoutUrl === 'string')
    .map((a) => withQuery(a.frontChannelLogoutUrl, { sid, iss: tenant.issuer }));
}
