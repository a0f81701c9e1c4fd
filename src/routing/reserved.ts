/**
 * The gateway's reserved paths, defined in one place. Everything under `/.auth`
 * belongs to the gateway on every host and is never proxied.
 */
export const RESERVED_PREFIX = '/.auth';

export const PATHS = Object.freeze({
  login: '/.auth/login',
  loginTotp: '/.auth/login/totp',
  loginEnroll: '/.auth/login/enroll',
  loginRecovery: '/.auth/login/recovery',
  sso: '/.auth/sso',
  callback: '/.auth/callback',
  /** why a Microsoft sign-in was refused (the callback redirects here: a reload shows the same page) */
  error: '/.auth/error',
  logout: '/.auth/logout',
  signedOut: '/.auth/signed-out',
  jwks: '/.auth/jwks.json',
  me: '/.auth/me',
  /** a person's own account: password, authenticator, recovery codes, sessions */
  account: '/.auth/account',
  /** a one-time set-up link (`?token=`): choose a password, then set up the authenticator */
  setup: '/.auth/setup',
  admin: '/.auth/admin/',
  consentCallback: '/.auth/consent/callback',
  /** the central callback host hands users to a client's host with a one-time ticket */
  handoff: '/.auth/handoff',
  /** Entra's "Front-channel logout URL": Microsoft signs the person out of the gateway (src/auth/entra/frontchannel.ts) */
  frontchannelLogout: '/.auth/frontchannel-logout',
  /** static assets of the gateway's own pages (the enhancement script; the CSS is inlined) */
  assets: '/.auth/assets/',
});

/** Is this normalised path reserved for the gateway? */
export function isReservedPath(path: string): boolean {
  return path === RESERVED_PREFIX || path.startsWith(`${RESERVED_PREFIX}/`);
}
