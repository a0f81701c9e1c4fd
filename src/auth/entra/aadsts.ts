/**
 * Entra ID (AADSTS) error codes → plain words and a fix for the administrator.
 * Used by the sign-in callback pages and by the admin settings pages (Test Connection,
 * admin consent). Only the AADSTS number is read from Microsoft's text: nothing of
 * `error_description` is ever echoed to a page.
 */

import { entraIds, type MicrosoftIds } from './diagnostics.ts';

/** An Entra failure explained: `code` is e.g. 'AADSTS7000215' or 'IDP_UNAVAILABLE'. */
export interface EntraErrorInfo {
  code: string;
  /** plain words for the administrator */
  message: string;
  /** what to change, or null when there is no specific advice */
  hint: string | null;
  /** Microsoft's trace / correlation ids and time of the failure, when it sent them */
  microsoft?: MicrosoftIds | null;
}

interface AadstsEntry {
  /** what the person signing in is told */
  readonly user: string;
  /** what the administrator is told */
  readonly admin: string;
  readonly hint: string;
}

const CONSENT_HINT =
  'Grant admin consent: for staff sign-in, open the app registration in the Azure portal → API permissions → "Grant admin consent"; ' +
  "for a client's portal, ask the client's Azure AD administrator to open the admin consent link from Settings → Portal → Authentication.";

/** The AADSTS errors people meet when setting up or using SSO, by number. */
export const AADSTS_CATALOGUE: Readonly<Record<string, AadstsEntry>> = Object.freeze({
  '65001': {
    user: 'Your organisation has not yet approved this application for sign-in.',
    admin: 'Consent has not been granted for the app in this tenant.',
    hint: CONSENT_HINT,
  },
  '65004': {
    user: 'Sign-in was cancelled because the permission request was declined.',
    admin: 'The user or administrator declined to consent to the app.',
    hint: 'Sign in again and accept the permission request, or have an administrator grant admin consent for the tenant. ' + CONSENT_HINT,
  },
  '50020': {
    user: "Your account belongs to another organisation's directory, so it cannot be used here.",
    admin: 'The account is from a tenant other than the one configured for this sign-in.',
    hint: 'Sign in with an account of the configured tenant, or invite the person as a guest (B2B) in that tenant.',
  },
  '50105': {
    user: 'Your account has not been given access to this application.',
    admin: 'The signed-in user is not assigned to the app, and the app requires user assignment.',
    hint: 'In the Azure portal → Enterprise applications → the app → Users and groups, assign the user (or one of their groups), or turn off "Assignment required".',
  },
  '700016': {
    user: 'This sign-in is not set up correctly for your organisation.',
    admin: 'The application (client) ID was not found in this tenant.',
    hint: 'Check the Client ID (Application ID from the app registration) and the Tenant ID. For a multi-tenant app, an administrator of the tenant must first grant admin consent.',
  },
  '7000215': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The client secret is not valid.',
    hint: 'Paste the secret\'s Value (shown once when it is created), not its "Secret ID". If in doubt, create a new client secret under Certificates & secrets and save it in Regentra.',
  },
  '7000222': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The client secret has expired.',
    hint: 'Create a new client secret under Certificates & secrets in the app registration, save it in Regentra and run Test Connection.',
  },
  '700027': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'Microsoft refused the certificate: it is not uploaded to the app registration, has expired, or the signature did not match it.',
    hint: 'Download the certificate from Regentra (its thumbprint is shown next to it) and upload it under Certificates & secrets → Certificates in the app registration; check that the thumbprint Azure shows is the same.',
  },
  '700024': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: "Microsoft refused the certificate sign-in because of the time: the gateway's clock and Microsoft's differ.",
    hint: "Check that the gateway servers' clocks are synchronised (NTP).",
  },
  '700021': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The certificate sign-in named another application than the Client ID.',
    hint: 'Check the Client ID (Application ID from the app registration).',
  },
  '700023': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: "The certificate sign-in was addressed to another tenant's token endpoint.",
    hint: 'Check the Tenant ID and that the gateway uses the same Microsoft cloud as the tenant (entra.authorityHost).',
  },
  '50011': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The redirect URI sent by Regentra is not registered on the app.',
    hint: "Add the redirect URI shown in Regentra's SSO settings to the app registration (Authentication → Web → Redirect URIs), exactly as shown.",
  },
  '7000229': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: "Regentra's app has no service principal (enterprise application) in this tenant, so Microsoft issues it no app-only token.",
    hint: 'An administrator of the tenant must consent to the app, which adds it to the tenant: ' + CONSENT_HINT,
  },
  '7000112': {
    user: 'This application is disabled in your organisation. Contact your administrator.',
    admin: 'The app is disabled in this tenant.',
    hint: 'In the Azure portal → Enterprise applications → the app → Properties, set "Enabled for users to sign in?" to Yes.',
  },
  '53003': {
    user: "Your organisation's access policy (Conditional Access) blocked this sign-in. Contact your IT administrator with the reference below.",
    admin: 'A Conditional Access policy of the tenant blocked the sign-in.',
    hint: 'In the Microsoft Entra admin center → Sign-in logs, find the sign-in by its correlation ID: it names the policy that blocked it and why (device, location, risk). Change the policy, or sign in from a place or device it allows.',
  },
  '50076': {
    user: 'Your organisation requires multi-factor authentication for this sign-in. Start again and complete the verification Microsoft asks for.',
    admin:
      'Multi-factor authentication is required (by a Conditional Access policy, per-user MFA, or because the person signs in from a new location) and was not completed.',
    hint: 'Have the person sign in again and complete MFA; if they cannot, check their authentication methods in the Microsoft Entra admin center and look up the sign-in by its correlation ID in Sign-in logs.',
  },
  '500011': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The resource Regentra asked for (Microsoft Graph) was not found in the tenant: the gateway and the tenant are in different Microsoft clouds.',
    hint: 'Set entra.authorityHost and entra.graphUrl to the cloud the tenant lives in: global login.microsoftonline.com + graph.microsoft.com; US Government login.microsoftonline.us + graph.microsoft.us (DoD: dod-graph.microsoft.us); China (21Vianet) login.chinacloudapi.cn + microsoftgraph.chinacloudapi.cn.',
  },
  '700054': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The app registration does not allow the response type that was asked for (ID tokens are not enabled for it).',
    hint: 'Register the redirect URI under the Web platform (not Single-page application) in the app registration → Authentication; Regentra uses the authorization code flow and needs no implicit-grant setting.',
  },
  '90002': {
    user: 'This sign-in is not set up correctly. Your administrator needs to fix it.',
    admin: 'The tenant was not found.',
    hint: 'Check the Tenant ID (Azure Active Directory → Overview → Tenant ID): it is a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47.',
  },
});

const AADSTS_PATTERN = /\bAADSTS(\d{2,9})\b/;

/** The AADSTS number in an error_description, or null. */
export function aadstsNumber(errorDescription: string | undefined | null): string | null {
  if (typeof errorDescription !== 'string') return null;
  return AADSTS_PATTERN.exec(errorDescription.slice(0, 4096))?.[1] ?? null;
}

/**
 * Explain an Entra `error_description` for an administrator; null when it carries no
 * AADSTS code. `body`: the JSON error body it came in, for Microsoft's ids.
 */
export function describeAadsts(errorDescription: string | undefined, body?: Readonly<Record<string, unknown>> | null): EntraErrorInfo | null {
  const n = aadstsNumber(errorDescription);
  if (n === null) return null;
  const microsoft = entraIds(body, errorDescription);
  const entry = AADSTS_CATALOGUE[n];
  if (!entry)
    return Object.freeze({
      code: `AADSTS${n}`,
      message: `Microsoft refused the request (AADSTS${n}).`,
      hint: `Look up AADSTS${n} at https://login.microsoftonline.com/error?code=${n}.`,
      microsoft,
    });
  return Object.freeze({ code: `AADSTS${n}`, message: entry.admin, hint: entry.hint, microsoft });
}

/** What the person signing in is told for an AADSTS number (generic for unknown numbers). */
export function aadstsUserMessage(n: string | null): string {
  const entry = n === null ? undefined : AADSTS_CATALOGUE[n];
  return entry?.user ?? 'Microsoft could not sign you in.';
}
