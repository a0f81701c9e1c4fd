/**
 * Test Connection tests the values on the form before they are saved, and the
 * round trip through Microsoft leaves this server. What was tested is kept as a
 * per-admin draft in the store (`sso.staff.draft.<uid>`, the secret sealed with
 * the encryption key and bound to that key): when the test passes, "Save tested
 * values" saves exactly them, marked as tested. Drafts expire after 30 minutes.
 */
import { putSetting, readSetting, SETTINGS } from '../settings/store.ts';
import type { SsoTestDraft } from '../settings/types.ts';
import type { Core } from '../core.ts';
import type { StaffSsoSettings } from '../auth/policy.ts';
import type { EntraAppCredentials } from '../auth/entra/index.ts';
import { fingerprintMatches, readStaffSecret, settingsFingerprint } from '../auth/entra/index.ts';
import { certificateTested, openStaffCertificate } from '../auth/entra/staff-credentials.ts';

/** what Test Connection tested (the stored shape: src/settings/types.ts) */
export type TestDraft = SsoTestDraft;

const DRAFT_TTL_MS = 30 * 60_000;
const draftKey = (uid: string): string => `sso.staff.draft.${uid}`;

export async function loadDraft(core: Core, uid: string): Promise<TestDraft | null> {
  // a draft that does not parse is no draft (the admin tests again), not an error page
  const { value } = await readSetting(core.store, SETTINGS.ssoTestDraft, draftKey(uid)).catch(() => ({ value: null }));
  if (!value) return null;
  return core.now() - value.startedAt < DRAFT_TTL_MS ? value : null;
}

export async function putDraft(core: Core, uid: string, draft: TestDraft | null): Promise<void> {
  await putSetting(core.store, SETTINGS.ssoTestDraft, draftKey(uid), draft);
}

export function sealDraftSecret(core: Core, uid: string, secret: string): string {
  return core.secretBox.seal(secret, draftKey(uid));
}

/** The credentials a draft tested (its own secret, or the saved one), or null when the secret cannot be read. */
export function draftCredentials(core: Core, uid: string, draft: TestDraft, saved: StaffSsoSettings): EntraAppCredentials | null {
  let secret: string | null;
  try {
    secret = draft.secretEnc ? core.secretBox.open(draft.secretEnc, draftKey(uid)) : readStaffSecret(core, saved);
  } catch {
    secret = null;
  }
  return secret === null ? null : { tenantId: draft.tenantId, clientId: draft.clientId, clientSecret: secret };
}

/** The saved credentials, or null when one of them is missing (or the secret does not open). */
export function savedCredentials(core: Core, s: StaffSsoSettings): EntraAppCredentials | null {
  const secret = readStaffSecret(core, s);
  if (!s.tenantId || !s.clientId || secret === null) return null;
  return { tenantId: s.tenantId, clientId: s.clientId, clientSecret: secret };
}

/** The fingerprint of the saved credentials, or null. */
export function savedFingerprint(core: Core, s: StaffSsoSettings): string | null {
  const creds = savedCredentials(core, s);
  return creds ? settingsFingerprint(core, creds) : null;
}

/** The saved values passed Test Connection (the rule for Enable SSO): with the secret, or with a certificate. */
export function isVerified(core: Core, s: StaffSsoSettings): boolean {
  const creds = savedCredentials(core, s);
  if (creds !== null && s.testedFingerprint !== null && fingerprintMatches(core.config, creds, s.testedFingerprint)) return true;
  return (s.certificates ?? []).some((c) => certificateTested(core, s, c, openStaffCertificate(core, c)));
}
