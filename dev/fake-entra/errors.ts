// Entra (AADSTS) error catalogue and the shapes Entra answers errors in.
import { randomUUID } from 'node:crypto';
import type { Runtime, TenantBase } from './types.ts';
import { appStatus } from './types.ts';

export interface AadError {
  readonly status: number;
  /** OAuth error code */
  readonly error: string;
  /** AADSTS number */
  readonly code: number;
  readonly message: string;
  readonly suberror?: string;
}

const aad = (status: number, error: string, code: number, message: string, suberror?: string): AadError =>
  suberror === undefined ? { status, error, code, message } : { status, error, code, message, suberror };

export const AAD = {
  invalidTenant: (tenant: string) =>
    aad(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  appNotFound: (clientId: string, directory: string) =>
    aad(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  notConsented: (clientId: string) =>
    aad(
      400,
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}' named '${clientId}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    ),
  notMultiTenant: (clientId: string) =>
    aad(
      400,
      'invalid_request',
      50194,
      `Application '${clientId}' is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.`,
    ),
  badSecret: (clientId: string) =>
    aad(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  expiredSecret: (clientId: string) =>
    aad(
      401,
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    ),
  noSecret: () => aad(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  missingParameter: (name: string) => aad(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  invalidRequest: (detail: string) => aad(400, 'invalid_request', 90014, `The request is invalid: ${detail}.`),
  redirectMismatch: (redirectUri: string, clientId: string) =>
    aad(
      400,
      'invalid_request',
      50011,
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
    ),
  userDeclined: () => aad(400, 'access_denied', 65004, 'User declined to consent to access the app.'),
  codeRedeemed: () =>
    aad(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.'),
  codeExpired: () =>
    aad(
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    ),
  pkceMismatch: () => aad(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'),
  invalidGrant: (detail: string) => aad(400, 'invalid_grant', 70000, `Provided grant is invalid or malformed (${detail}).`),
  unsupportedGrant: () => aad(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'),
  invalidScope: (detail: string) => aad(400, 'invalid_scope', 70011, `The provided request must include a valid 'scope' input parameter (${detail}).`),
  scopeMissing: () =>
    aad(
      400,
      'invalid_request',
      90014,
      "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
    ),
  notDefaultScope: (scope: string) =>
    aad(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  invalidResource: (detail: string) => aad(400, 'invalid_resource', 500011, `The resource principal was not found in the tenant (${detail}).`),
  resourceNotFound: (resource: string, tenantName: string) =>
    aad(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ),
  missingServicePrincipal: (clientId: string, tenantId: string) =>
    aad(
      401,
      'invalid_client',
      7000229,
      `The client application ${clientId} is missing service principal in the tenant ${tenantId}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
    ),
  appDisabled: (clientId: string) => aad(400, 'unauthorized_client', 7000112, `Application '${clientId}'(${clientId}) is disabled.`),
  blockedByConditionalAccess: (error: string) =>
    aad(400, error, 53003, 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.'),
  mfaRequired: () =>
    aad(
      400,
      'interaction_required',
      50076,
      "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.",
    ),
  idTokenNotEnabled: (clientId: string) =>
    aad(400, 'unsupported_response_type', 700054, `response_type 'id_token' is not enabled for the application. (app: ${clientId})`),
  loginRequired: () => aad(400, 'login_required', 50058, 'A silent sign-in request was sent but no user is signed in.'),
  interactionRequired: (detail: string) => aad(400, 'interaction_required', 50076, detail),
  sessionExpired: () => aad(400, 'invalid_request', 50089, 'Authentication failed due to flow token expired. Start the sign-in again.'),
  unknownUser: (oid: string) => aad(400, 'invalid_request', 50034, `The user account '${oid}' does not exist in this directory.`),
  unavailable: () => aad(503, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'),
  serverError: (detail: string) => aad(500, 'server_error', 50000, `There was an error issuing a token or an authorization code (${detail}).`),
} as const;

/** Entra's timestamp format: `2024-05-01 12:34:56Z` */
export function entraTimestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export interface Diagnostics {
  readonly traceId: string;
  readonly correlationId: string;
  readonly timestamp: string;
}

export function diagnostics(correlationId?: string): Diagnostics {
  return { traceId: randomUUID(), correlationId: correlationId || randomUUID(), timestamp: entraTimestamp() };
}

/** The JSON body of an error from a token (or discovery) endpoint, exactly as Entra shapes it. */
export function tokenErrorBody(e: AadError, d: Diagnostics = diagnostics()): Record<string, unknown> {
  return {
    error: e.error,
    error_description: `AADSTS${e.code}: ${e.message}${diagnosticsText(d)}`,
    error_codes: [e.code],
    timestamp: d.timestamp,
    trace_id: d.traceId,
    correlation_id: d.correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
    ...(e.suberror === undefined ? {} : { suberror: e.suberror }),
  };
}

/** The lines Entra ends every error_description with (CRLF-separated, as Entra sends them). */
function diagnosticsText(d: Diagnostics): string {
  return `\r\nTrace ID: ${d.traceId}\r\nCorrelation ID: ${d.correlationId}\r\nTimestamp: ${d.timestamp}`;
}

/** `error_description` as sent to a redirect URI: `AADSTS<code>: <message>` and Entra's trace lines */
export function redirectDescription(e: AadError, d: Diagnostics = diagnostics()): string {
  return `AADSTS${e.code}: ${e.message}${diagnosticsText(d)}`;
}

/** Refusals a test can ask the stand-in for (fe.refuseNext): Entra's answer at each endpoint. */
export type Refusal = 'secretExpired' | 'appDisabled' | 'conditionalAccess' | 'mfaRequired' | 'idTokenNotEnabled';

export function refusalError(kind: Refusal, endpoint: 'authorize' | 'token', clientId: string): AadError {
  switch (kind) {
    case 'secretExpired':
      return AAD.expiredSecret(clientId);
    case 'appDisabled':
      return AAD.appDisabled(clientId);
    case 'conditionalAccess':
      return AAD.blockedByConditionalAccess(endpoint === 'authorize' ? 'access_denied' : 'invalid_grant');
    case 'mfaRequired':
      return AAD.mfaRequired();
    case 'idTokenNotEnabled':
      return AAD.idTokenNotEnabled(clientId);
  }
}

/** What oidc-provider threw on its token endpoint (its `grant.error` event). */
export interface ProviderError {
  readonly error?: string;
  readonly error_description?: string;
  readonly error_detail?: string;
}

/** Map an oidc-provider token endpoint error to the AADSTS error Entra would answer. */
export function mapTokenError(
  rt: Runtime,
  tenant: TenantBase,
  err: ProviderError,
  clientId: string | undefined,
  hasSecret: boolean,
  grantType?: string,
): AadError {
  const detail = `${err.error_detail ?? ''} ${err.error_description ?? ''}`;
  switch (err.error) {
    case 'invalid_client': {
      if (!clientId) return AAD.missingParameter('client_id');
      const status = appStatus(rt, tenant, clientId);
      if (status.kind === 'unknown') return AAD.appNotFound(clientId, tenant.name);
      // no service principal in this tenant: an app-only token names that; a user's code, consent
      if (status.kind === 'no-consent')
        return grantType === 'client_credentials' ? AAD.missingServicePrincipal(clientId, tenant.id) : AAD.notConsented(clientId);
      return hasSecret ? AAD.badSecret(clientId) : AAD.noSecret();
    }
    case 'invalid_grant':
      if (/consumed|already used/.test(detail)) return AAD.codeRedeemed();
      if (/not found|expired/.test(detail)) return AAD.codeExpired();
      if (/code_verifier|code_challenge|PKCE/i.test(detail)) return AAD.pkceMismatch();
      return AAD.invalidGrant(detail.trim());
    case 'invalid_request':
      if (/code_verifier/.test(detail)) return AAD.missingParameter('code_verifier');
      if (/missing required parameter/.test(detail)) {
        const name = /'([^']+)'/.exec(detail)?.[1];
        if (name) return AAD.missingParameter(name);
      }
      if (/no client authentication mechanism/.test(detail)) return AAD.missingParameter('client_id');
      return AAD.invalidRequest(detail.trim());
    case 'unsupported_grant_type':
      return AAD.unsupportedGrant();
    case 'invalid_scope':
      return AAD.invalidScope(detail.trim());
    case 'invalid_target':
      return AAD.invalidResource(detail.trim());
    case 'unauthorized_client':
      return AAD.invalidGrant(detail.trim());
    default:
      return AAD.serverError(`${err.error ?? 'unknown'}: ${detail.trim()}`);
  }
}

/** Map an error oidc-provider redirected with (authorization endpoint) to Entra's AADSTS error. */
export function mapAuthorizationError(error: string, description: string): AadError {
  switch (error) {
    case 'login_required':
      return AAD.loginRequired();
    case 'interaction_required':
      return AAD.interactionRequired(description);
    case 'consent_required':
      return aad(
        400,
        error,
        65001,
        'The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.',
      );
    case 'invalid_request':
      return /PKCE|code_challenge/.test(description)
        ? aad(400, error, 9002325, `Proof Key for Code Exchange (code_challenge with code_challenge_method S256) is required (${description}).`)
        : AAD.invalidRequest(description);
    case 'invalid_scope':
      return AAD.invalidScope(description);
    case 'unsupported_response_type':
      return aad(400, error, 700054, `response_type is not supported for the application (${description}).`);
    default:
      return aad(400, error, 50000, description);
  }
}
