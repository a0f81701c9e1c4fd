/**
 * Confirm an admin consent with Microsoft before recording it: the `admin_consent=True`
 * answer comes back through the admin's browser, so the gateway asks the client's
 * tenant itself for an app-only token (client credentials, Microsoft Graph's .default
 * scope of the configured cloud). The tenant issues one only when Regentra's portal app
 * has a service principal there (otherwise AADSTS7000229 / 700016 / 65001).
 *
 * What that proves, and no more: the app is present in the tenant. An administrator's
 * consent creates the service principal, but so does a user's own consent (where users
 * may consent), and the token says nothing about which delegated permissions were
 * granted. The callback records both facts separately (src/admin/consent.ts). A tenant
 * that cannot be reached confirms nothing.
 */

import type { EntraErrorInfo } from './aadsts.ts';
import type { EntraClient } from './client.ts';
import { asEntraError } from './errors.ts';
import type { EntraAppCredentials } from './secrets.ts';

export type ConsentConfirmation = { readonly confirmed: true } | { readonly confirmed: false; readonly unavailable: boolean; readonly info: EntraErrorInfo };

export async function confirmAdminConsent(entra: EntraClient, tenantId: string, app: Omit<EntraAppCredentials, 'tenantId'>): Promise<ConsentConfirmation> {
  try {
    await entra.clientCredentials({ ...app, tenantId });
    return { confirmed: true };
  } catch (err) {
    const e = asEntraError(err);
    return { confirmed: false, unavailable: e.code === 'IDP_UNAVAILABLE', info: e.toInfo() };
  }
}
