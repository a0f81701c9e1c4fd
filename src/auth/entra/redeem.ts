/**
 * Redeeming an authorization code whose `state` was already compared and consumed:
 * the code is accepted once (consumeOnce on its hash), exchanged with the PKCE
 * verifier and the expected nonce, the ID token checked (claims.ts), and the person
 * matched or provisioned (users.ts). The access token is used for Graph only when the
 * ID token has no email, and is never validated, stored or logged.
 */
import type { Core } from '../../core.ts';

import { explainRefusedToken, identityFromClaims, plausibleEmail, type EntraIdentity } from './claims.ts';
import { asEntraError, EntraError } from './errors.ts';
import { consumeCode, type CallbackParams } from './attempt.ts';
import type { SsoTarget } from './target.ts';
import { resolveUser } from './users.ts';
import type { EntraAppCredentials } from './secrets.ts';
import { staffRoleFromEntra } from './roles.ts';

export interface Redemption {
  readonly identity: EntraIdentity;
  /** Graph mail / userPrincipalName, fetched at most once and only when asked */
  readonly lookupEmail: () => Promise<string | null>;
}

/** Redeem a code whose state was already checked and consumed; verify the ID token. */
export async function redeemIdentity(
  core: Core,
  creds: EntraAppCredentials,
  input: { redirectUri: string; code: string; state: string; expectedState: string; verifier: string; nonce: string },
): Promise<Redemption> {
  await consumeCode(core, input.code);
  const client = core.entra;
  const server = await client.metadata(creds.tenantId);
  let redeemed;
  try {
    redeemed = await client.redeem(creds, input);
  } catch (err) {
    throw explainRefusedToken(asEntraError(err), creds.tenantId);
  }
  const identity = identityFromClaims(redeemed.claims, { tenantId: creds.tenantId, clientId: creds.clientId, issuer: server.issuer, now: core.now() });
  let email: Promise<string | null> | null = null;
  const { accessToken } = redeemed;
  const lookupEmail = () => (email ??= client.graphProfile(accessToken).then((p) => plausibleEmail(p.mail) ?? plausibleEmail(p.userPrincipalName)));
  return { identity, lookupEmail };
}

/** Redeem the code of a verified attempt and find (or provision) the user. */
export async function redeemAndResolve(
  core: Core,
  target: SsoTarget,
  attempt: { redirectUri: string; nonce: string | null; verifier: string | null; state: string | null },
  p: CallbackParams,
) {
  if (p.code === null || p.state === null || attempt.nonce === null || attempt.verifier === null) throw new EntraError('SSO_BAD_CALLBACK');
  const { identity, lookupEmail } = await redeemIdentity(core, target.app, {
    redirectUri: attempt.redirectUri,
    code: p.code,
    state: p.state,
    expectedState: attempt.state ?? p.state,
    verifier: attempt.verifier,
    nonce: attempt.nonce,
  });
  // a role rule that cannot be decided (groups overage) refuses before any account is made or linked
  if (target.kind === 'staff') staffRoleFromEntra((await core.policy.staffSso()).roleMapping, identity);
  const resolved = await resolveUser(core.store, identity, {
    realm: target.realm,
    autoProvision: target.autoProvision,
    autoLink: target.autoLink,
    lookupEmail,
  });
  return { identity, resolved };
}
