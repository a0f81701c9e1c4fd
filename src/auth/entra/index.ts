/**
 * Microsoft Entra ID sign-in: what the rest of the gateway (the admin settings pages)
 * may use. Everything else in this folder is internal; app.ts registers the routes
 * from ./routes.ts.
 */
export type { EntraErrorInfo } from './aadsts.ts';
export { describeAadsts } from './aadsts.ts';
export type { MicrosoftIds } from './diagnostics.ts';
export { entraIds, microsoftIdsHtml } from './diagnostics.ts';
export type { EntraAppCredentials } from './secrets.ts';
export { fingerprintMatches, settingsFingerprint, readStaffSecret, sealStaffSecret } from './secrets.ts';
export type { ConnectionCheck, TestSignInResult } from './test-signin.ts';
export { checkConnection, beginTestSignIn, takeTestResult } from './test-signin.ts';
export { redirectUriFor, adminConsentUrl, registeredRedirectUris, type AppRedirectUris, type RedirectUriList } from './urls.ts';
export { CONSUMER_TENANT_ID, CONSUMER_TENANT_REFUSAL, isConsumerTenant } from './tenants.ts';
export type { ConsentConfirmation } from './consent-check.ts';
export { confirmAdminConsent } from './consent-check.ts';
