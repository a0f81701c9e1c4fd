/**
 * A zod schema for every setting the gateway stores (Store.getSetting/putSetting rows),
 * each checked against the TypeScript type the code reads, so a field added to one and
 * not the other is a type error. Stored values are parsed through these on every read
 * and validated on every write (src/settings/store.ts).
 *
 * Fields that older versions did not write are optional here, as they are in the types.
 * Unknown fields are kept (`looseObject`): a newer replica's field survives an older
 * replica's write during a rolling upgrade.
 */
import { z } from 'zod';
import type {
  ConsentStatus,
  CurrentSetupLink,
  MicrosoftIds,
  PortalAuthSettings,
  RoleMapping,
  SessionEpochs,
  SetupLinkRecord,
  SsoTestDraft,
  StaffCertificate,
  StaffSsoSettings,
} from './types.ts';

const epochMs = z.number().int().nonnegative();
const nullableText = z.string().nullable();

export const sessionEpochsSchema = z.looseObject({
  passwordSessionsValidAfter: epochMs,
  ssoSessionsValidAfter: epochMs,
}) satisfies z.ZodType<SessionEpochs>;

const microsoftIdsSchema = z.looseObject({
  traceId: nullableText,
  correlationId: nullableText,
  requestId: nullableText,
  timestamp: nullableText,
}) satisfies z.ZodType<MicrosoftIds>;

const roleMappingSchema = z.looseObject({
  source: z.enum(['roles', 'groups']),
  values: z.array(z.string()),
}) satisfies z.ZodType<RoleMapping>;

const staffCertificateSchema = z.looseObject({
  pem: z.string(),
  thumbprint: z.string(),
  x5tS256: z.string(),
  notBefore: z.number(),
  notAfter: z.number(),
  keyEnc: z.string(),
  createdAt: z.number(),
  createdBy: nullableText,
  testedFingerprint: nullableText,
  testedAt: z.number().nullable(),
  lastTest: z.looseObject({ ok: z.boolean(), at: z.number(), code: nullableText, message: z.string(), hint: nullableText }).nullable().optional(),
}) satisfies z.ZodType<StaffCertificate>;

/** Settings → Security → Single Sign-On (`sso.staff`), with the realm's session epochs. */
export const staffSsoSchema = z.looseObject({
  tenantId: nullableText,
  clientId: nullableText,
  clientSecretEnc: nullableText,
  secretSetAt: z.number().nullable(),
  secretExpiresAt: z.number().nullable().optional(),
  certificates: z.array(staffCertificateSchema).optional(),
  roleMapping: roleMappingSchema.nullable().optional(),
  testedFingerprint: nullableText,
  testedAt: z.number().nullable(),
  enabled: z.boolean(),
  ssoOnly: z.boolean(),
  autoProvision: z.boolean(),
  autoLink: z.boolean(),
  updatedBy: nullableText,
  updatedAt: z.number().nullable(),
  passwordSessionsValidAfter: epochMs,
  ssoSessionsValidAfter: epochMs,
}) satisfies z.ZodType<StaffSsoSettings & SessionEpochs>;

const consentStatusSchema = z.looseObject({
  status: z.enum(['none', 'granted', 'failed']),
  at: z.number().nullable(),
  tenantId: nullableText,
  error: nullableText,
  adminConsent: z.boolean().optional(),
  appPresent: z.boolean().optional(),
  microsoft: microsoftIdsSchema.nullable().optional(),
}) satisfies z.ZodType<ConsentStatus>;

/** Settings → Portal → a client → Authentication (`portal.auth.<client>`), with the realm's session epochs. */
export const portalAuthSchema = z.looseObject({
  tenantId: nullableText,
  ssoEnabled: z.boolean(),
  passwordAllowed: z.boolean(),
  consent: consentStatusSchema,
  provisioning: z.enum(['tenant', 'invited']),
  autoLink: z.boolean(),
  updatedBy: nullableText,
  updatedAt: z.number().nullable(),
  passwordSessionsValidAfter: epochMs,
  ssoSessionsValidAfter: epochMs,
}) satisfies z.ZodType<PortalAuthSettings & SessionEpochs>;

/** What an admin's Test Connection tested (`sso.staff.draft.<uid>`); null once used or cleared. */
export const ssoTestDraftSchema = z
  .looseObject({
    tenantId: z.string(),
    clientId: z.string(),
    secretEnc: nullableText,
    fingerprint: z.string(),
    startedAt: z.number(),
    passedAt: z.number().nullable(),
    claims: z.looseObject({ name: z.string(), email: nullableText, tid: z.string(), oid: z.string() }).nullable(),
  })
  .nullable() satisfies z.ZodType<SsoTestDraft | null>;

/** A set-up link (`account.setup-link.<sha256 of the token>`): the token itself is never stored. */
export const setupLinkSchema = z.looseObject({
  realm: z.string(),
  uid: z.string(),
  expiresAt: z.number(),
  createdAt: z.number(),
}) satisfies z.ZodType<SetupLinkRecord>;

/** An account's current set-up link (`account.setup-link-of.<realm>.<uid>`): an older one stops working. */
export const currentSetupLinkSchema = z.looseObject({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.number(),
}) satisfies z.ZodType<CurrentSetupLink>;
