/**
 * Seeding for the demo and the tests: what a person would do through the pages, done
 * directly. Kept out of src/ so that nothing the gateway ships can turn TOTP on without the
 * enrolment page, or seal a session without a sign-in.
 */
import type { SecretBox } from '../src/store/secretbox.ts';
import type { Store, User } from '../src/store/types.ts';
import type { SessionData } from '../src/session/types.ts';
import type { GatewayApp } from '../src/app.ts';
import { setActiveTotpSecret } from '../src/auth/totp/enrolment.ts';
import { newTotpSecret } from '../src/auth/totp/totp.ts';

/**
 * Turn TOTP on without the enrolment page: stores `secret` (or a new one) sealed, and
 * returns it with fresh recovery codes. Audited as a seeded enrolment.
 */
export async function enrolTotp(
  store: Store,
  box: SecretBox,
  user: User,
  opts: { readonly actor?: string; readonly secret?: string; readonly now?: () => number } = {},
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const secret = opts.secret ?? newTotpSecret();
  const at = (opts.now ?? Date.now)();
  const recoveryCodes = await setActiveTotpSecret(store, box, user, secret, at);
  await store.appendAudit({
    at,
    type: 'mfa.enroll',
    outcome: 'success',
    realm: user.realm,
    userId: user.id,
    actor: opts.actor ?? 'seed',
    ip: null,
    details: { method: 'totp', seeded: true },
  });
  return { secret, recoveryCodes };
}

/** A session cookie value (encoded as in Set-Cookie) sealed with the app's session keys. */
export function sealSession(app: GatewayApp, data: SessionData): string {
  const s = app.createSecureSession({ s: data });
  return encodeURIComponent(app.encodeSecureSession(s, 'session'));
}
