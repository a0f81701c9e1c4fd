/**
 * The types of the settings the gateway stores, their keys and defaults. The schemas that
 * check them are in ./schemas.ts; the one read/write path in ./store.ts.
 */

/** Microsoft's ids of a failure (trace, correlation, request, timestamp), shown to admins. */
export interface MicrosoftIds {
  /** Entra: Trace ID */
  readonly traceId: string | null;
  /** Entra: Correlation ID; Graph: client-request-id */
  readonly correlationId: string | null;
  /** Graph: request-id */
  readonly requestId: string | null;
  /** Entra: Timestamp (`2024-05-01 12:34:56Z`); Graph: date */
  readonly timestamp: string | null;
}

export const STAFF_SSO_KEY = 'sso.staff';
/** the key prefix of a client's portal authentication settings */
export const PORTAL_AUTH_PREFIX = 'portal.auth.';
export const portalAuthKey = (clientId: string): string => `${PORTAL_AUTH_PREFIX}${clientId}`;

/** Staff SSO settings (Settings → Security → Single Sign-On). */
export interface StaffSsoSettings {
  readonly tenantId: string | null;
  readonly clientId: string | null;
  /** sealed with the encryption key (secretbox, aad `sso.staff`); never sent to a browser */
  readonly clientSecretEnc: string | null;
  readonly secretSetAt: number | null;
  /** when the client secret expires (entered by the admin; Azure shows it), epoch ms; null: not entered */
  readonly secretExpiresAt?: number | null;
  /** certificate credentials (src/auth/entra/staff-credentials.ts), oldest first */
  readonly certificates?: readonly StaffCertificate[];
  /** staff roles from Entra (src/auth/entra/roles.ts): members of these app roles or groups are admins */
  readonly roleMapping?: RoleMapping | null;
  /** fingerprint (hash of tenant, client id and secret) of the values that last passed Test Connection */
  readonly testedFingerprint: string | null;
  readonly testedAt: number | null;
  readonly enabled: boolean;
  readonly ssoOnly: boolean;
  /** create unknown members of the tenant as staff `member`s on first SSO sign-in */
  readonly autoProvision: boolean;
  /**
   * link an unlinked account with no password, authenticator or admin role to the
   * Microsoft identity whose token vouches for its email (`xms_edov`); see entra/users.ts
   */
  readonly autoLink: boolean;
  readonly updatedBy: string | null;
  readonly updatedAt: number | null;
}

/**
 * When the realm last took a way of signing in away (epoch ms; 0: never): sessions of
 * that kind started before it are over. Written by putSignInSettings only.
 */
export interface SessionEpochs {
  readonly passwordSessionsValidAfter: number;
  readonly ssoSessionsValidAfter: number;
}

/** Which Entra claim makes a staff member an admin, and its values (app role values, or group object ids). */
export interface RoleMapping {
  readonly source: 'roles' | 'groups';
  readonly values: readonly string[];
}

/** A certificate credential of the staff app: the certificate in clear, its private key sealed. */
export interface StaffCertificate {
  readonly pem: string;
  readonly thumbprint: string;
  readonly x5tS256: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** the PKCS#8 private key, sealed with the encryption key (aad `sso.staff.cert.<x5tS256>`) */
  readonly keyEnc: string;
  readonly createdAt: number;
  readonly createdBy: string | null;
  /** fingerprint (tenant, client id, certificate) of the settings it last passed Test Connection with */
  readonly testedFingerprint: string | null;
  readonly testedAt: number | null;
  /** the last Test Connection with it (shown on the page) */
  readonly lastTest?: {
    readonly ok: boolean;
    readonly at: number;
    readonly code: string | null;
    readonly message: string;
    readonly hint: string | null;
  } | null;
}

export const DEFAULT_STAFF_SSO: StaffSsoSettings & SessionEpochs = Object.freeze({
  tenantId: null,
  clientId: null,
  clientSecretEnc: null,
  secretSetAt: null,
  testedFingerprint: null,
  testedAt: null,
  enabled: false,
  ssoOnly: false,
  autoProvision: false,
  autoLink: false,
  updatedBy: null,
  updatedAt: null,
  passwordSessionsValidAfter: 0,
  ssoSessionsValidAfter: 0,
});

/**
 * What the admin consent callback established for a client's tenant. `granted` is
 * recorded only when an app-only token from the tenant succeeded (`appPresent`): that
 * proves Regentra's app has a service principal there, which an administrator's consent
 * creates — but so does a user's own consent; `adminConsent` records that Microsoft's
 * answer (through the browser) said an administrator consented.
 */
export interface ConsentStatus {
  readonly status: 'none' | 'granted' | 'failed';
  /** when the status was recorded (for `granted`: when the app's presence was confirmed) */
  readonly at: number | null;
  readonly tenantId: string | null;
  readonly error: string | null;
  /** the callback said `admin_consent=True`; absent in records written before it was kept */
  readonly adminConsent?: boolean;
  /** an app-only token from the tenant succeeded at `at`; absent in records written before it was kept */
  readonly appPresent?: boolean;
  /** Microsoft's trace / correlation ids of a failure */
  readonly microsoft?: MicrosoftIds | null;
}

/** A client's portal authentication settings (Settings → Portal → Authentication). */
export interface PortalAuthSettings {
  readonly tenantId: string | null;
  readonly ssoEnabled: boolean;
  /** password sign-in stays allowed while SSO is on */
  readonly passwordAllowed: boolean;
  readonly consent: ConsentStatus;
  /** who gets an account at first Microsoft sign-in: anyone in the client's tenant, or only people an admin added */
  readonly provisioning: PortalProvisioning;
  /** as StaffSsoSettings.autoLink */
  readonly autoLink: boolean;
  readonly updatedBy: string | null;
  readonly updatedAt: number | null;
}

export const DEFAULT_PORTAL_AUTH: PortalAuthSettings & SessionEpochs = Object.freeze({
  tenantId: null,
  ssoEnabled: false,
  passwordAllowed: true,
  consent: Object.freeze({ status: 'none' as const, at: null, tenantId: null, error: null }),
  provisioning: 'tenant',
  autoLink: false,
  updatedBy: null,
  updatedAt: null,
  passwordSessionsValidAfter: 0,
  ssoSessionsValidAfter: 0,
});

export type PortalProvisioning = 'tenant' | 'invited';

/** What an admin's Test Connection tested (`sso.staff.draft.<uid>`, src/admin/sso-draft.ts). */
export interface SsoTestDraft {
  readonly tenantId: string;
  readonly clientId: string;
  /** a secret typed on the form (sealed), or null: the saved secret was tested */
  readonly secretEnc: string | null;
  readonly fingerprint: string;
  readonly startedAt: number;
  readonly passedAt: number | null;
  readonly claims: { readonly name: string; readonly email: string | null; readonly tid: string; readonly oid: string } | null;
}

/** A one-time set-up link, stored under the hash of its token (src/auth/password/setup-link.ts). */
export interface SetupLinkRecord {
  readonly realm: string;
  readonly uid: string;
  readonly expiresAt: number;
  readonly createdAt: number;
}

/** The account's current set-up link: any other one of the account no longer works. */
export interface CurrentSetupLink {
  readonly hash: string;
  readonly expiresAt: number;
}
