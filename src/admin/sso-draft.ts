/**
 * Test Connection tests the values on the form before they are saved, and the
 * round trip through Microsoft leaves this server. What was tested is kept as a
 * per-admin draft in the store (`sso.staff.draft.<uid>`, the secret sealed with
 * the encryption key and bound to that key): when the test passes, "Save tested
 * values" saves exactly them, marked as tested. Drafts expire after 30 minutes.
 */
import type { FastifyInstance } from 'fastify';
import type { StaffSsoSettings } from '../auth/policy.ts';
import type { TestSignInResult, EntraAppCredentials } from '../auth/entra/index.ts';
import { fingerprintMatches, readStaffSecret, settingsFingerprint } from '../auth/entra/index.ts';
import { certificateTested, openStaffCertificate } from '../auth/entra/staff-credentials.ts';

export interface TestDraft {
  readonly tenantId: string;
  readonly clientId: string;
  /** a secret typed on the form (sealed), or null: the saved secret was tested */
  readonly secretEnc: string | null;
  readonly fingerprint: string;
  readonly startedAt: number;
  readonly passedAt: number | null;
  readonly claims: TestSignInResult['claims'];
}

const DRAFT_TTL_MS = 30 * 60_000;
const draftKey = (uid: string): string => `sso.staff.draft.${uid}`;

function isDraft(v: unknown): v is TestDraft {
  const d = v as Partial<TestDraft> | null;
  return (
    d !== null &&
    typeof d === 'object' &&
    typeof d.tenantId === 'string' &&
    typeof d.clientId === 'string' &&
    typeof d.fingerprint === 'string' &&
    typeof d.startedAt === 'number'
  );
}

export async function loadDraft(app: FastifyInstance, uid: string): Promise<TestDraft | null> {
  const s = await app.gateway.store.getSetting<unknown>(draftKey(uid));
  if (!s || !isDraft(s.value)) return null;
  return app.gateway.now() - s.value.startedAt < DRAFT_TTL_MS ? s.value : null;
}

export async function putDraft(app: FastifyInstance, uid: string, draft: TestDraft | null): Promise<void> {
  await app.gateway.store.putSetting(draftKey(uid), draft);
}

export function sealDraftSecret(app: FastifyInstance, uid: string, secret: string): string {
  return app.gateway.secretBox.seal(secret, draftKey(uid));
}

/** The credentials a draft tested (its own secret, or the saved one), or null when the secret cannot be read. */
export function draftCredentials(app: FastifyInstance, uid: string, draft: TestDraft, saved: StaffSsoSettings): EntraAppCredentials | null {
  let secret: string | null;
  try {
    secret = draft.secretEnc ? app.gateway.secretBox.open(draft.secretEnc, draftKey(uid)) : readStaffSecret(app, saved);
  } catch {
    secret = null;
  }
  return secret === null ? null : { tenantId: draft.tenantId, clientId: draft.clientId, clientSecret: secret };
}

/** The saved credentials, or null when one of them is missing (or the secret does not open). */
export function savedCredentials(app: FastifyInstance, s: StaffSsoSettings): EntraAppCredentials | null {
  const secret = readStaffSecret(app, s);
  if (!s.tenantId || !s.clientId || secret === null) return null;
  return { tenantId: s.tenantId, clientId: s.clientId, clientSecret: secret };
}

/** The fingerprint of the saved credentials, or null. */
export function savedFingerprint(app: FastifyInstance, s: StaffSsoSettings): string | null {
  const creds = savedCredentials(app, s);
  return creds ? settingsFingerprint(app, creds) : null;
}

/** The saved values passed Test Connection (the rule for Enable SSO): with the secret, or with a certificate. */
export function isVerified(app: FastifyInstance, s: StaffSsoSettings): boolean {
  const creds = savedCredentials(app, s);
  if (creds !== null && s.testedFingerprint !== null && fingerprintMatches(app.gateway.config, creds, s.testedFingerprint)) return true;
  return (s.certificates ?? []).some((c) => certificateTested(app, s, c, openStaffCertificate(app, c)));
}
