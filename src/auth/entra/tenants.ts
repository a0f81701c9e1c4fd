/**
 * Tenants that are not organisations. Microsoft's consumer tenant holds personal Microsoft
 * accounts (Outlook.com, Hotmail, Xbox): anyone can create one with any email address, so it
 * is never a staff or client directory. Refused wherever a tenant is entered (admin pages,
 * CLI) or read (stored settings), and in ID tokens (claims.ts).
 */

/** the tenant id of personal Microsoft accounts (the `tid` of their tokens) */
export const CONSUMER_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

export const CONSUMER_TENANT_REFUSAL =
  'is the tenant of personal Microsoft accounts (Outlook.com, Hotmail, Xbox), not an organisation: enter your organisation’s Directory (tenant) ID from Microsoft Entra admin center → Overview';

export function isConsumerTenant(tenantId: string): boolean {
  return tenantId.trim().toLowerCase() === CONSUMER_TENANT_ID;
}
