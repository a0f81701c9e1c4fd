/**
 * The staff app's credentials — its client secret and its certificates — in the order
 * the gateway uses them: the newest working one first (a certificate counts as working
 * once it passed Test Connection with the saved tenant and client; the secret once the
 * saved settings did), then the others as fallbacks (client.ts tries the next one when
 * Microsoft refuses a credential), expired ones last. Rotation is therefore: add a
 * second credential, test it, and remove the old one explicitly.
 */
import type { Core } from '../../core.ts';
import type { StaffCertificate, StaffSsoSettings } from '../policy.ts';
import { describeCertificate, type CertificateCredential } from '../../util/certificate.ts';
import { fingerprintMatches, readStaffSecret, type AppCredential } from './secrets.ts';

export interface StaffCredential {
  readonly kind: 'secret' | 'certificate';
  /** certificate thumbprint (SHA-1 hex), or 'secret' */
  readonly id: string;
  readonly credential: AppCredential;
  readonly addedAt: number;
  /** epoch ms; null when not known (a secret whose expiry was not entered) */
  readonly expiresAt: number | null;
  readonly working: boolean;
}

export const certificateAad = (x5tS256: string): string => `sso.staff.cert.${x5tS256}`;

/** A stored certificate with its private key, or null when the key does not open (wrong keys, tampered). */
export function openStaffCertificate(core: Core, c: StaffCertificate): CertificateCredential | null {
  try {
    const privateKeyPem = core.secretBox.open(c.keyEnc, certificateAad(c.x5tS256));
    const facts = describeCertificate(c.pem);
    return facts.x5tS256 === c.x5tS256 ? Object.freeze({ ...facts, privateKeyPem }) : null;
  } catch {
    return null;
  }
}

/** A certificate passed Test Connection with the saved tenant and client. */
export function certificateTested(core: Core, s: StaffSsoSettings, c: StaffCertificate, opened: CertificateCredential | null): boolean {
  if (!s.tenantId || !s.clientId || !c.testedFingerprint || !opened) return false;
  return fingerprintMatches(core.config, { tenantId: s.tenantId, clientId: s.clientId, clientSecret: '', certificate: opened }, c.testedFingerprint);
}

/** Every usable credential, in the order to try them. */
export function staffCredentials(core: Core, s: StaffSsoSettings): StaffCredential[] {
  const now = core.now();
  const out: StaffCredential[] = [];
  const secret = readStaffSecret(core, s);
  // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
  if (secret !== null) {
    const verified =
      s.testedFingerprint !== null &&
      s.tenantId !== null &&
      s.clientId !== null &&
      fingerprintMatches(core.config, { tenantId: s.tenantId, clientId: s.clientId, clientSecret: secret }, s.testedFingerprint);
    out.push({
      kind: 'secret',
      id: 'secret',
      credential: { clientSecret: secret },
      addedAt: s.secretSetAt ?? 0,
      expiresAt: s.secretExpiresAt ?? null,
      working: verified,
    });
  }
  for (const c of s.certificates ?? []) {
    const opened = openStaffCertificate(core, c);
    if (!opened) continue;
    out.push({
      kind: 'certificate',
      id: c.thumbprint,
      credential: { clientSecret: '', certificate: opened },
      addedAt: c.createdAt,
      expiresAt: c.notAfter,
      working: certificateTested(core, s, c, opened),
    });
  }
  const rank = (c: StaffCredential) => (c.expiresAt !== null && c.expiresAt <= now ? 2 : c.working ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || b.addedAt - a.addedAt);
}
