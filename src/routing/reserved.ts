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
  logout: '/.auth/logout',
  signedOut: '/.auth/signed-out',
  jwks: '/.auth/jwks.json',
  me: '/.auth/me',
  admin: '/.auth/admin/',
  consentCallback: '/.auth/consent/callback',
  /** the central callback host hands users to a client's host with a one-time ticket */
  handoff: '/.auth/handoff',
  /** Entra's "Front-channel logout URL": Microsoft signs the person out of the gateway (src/auth/entra/frontchannel.ts) */
  frontchannelLogout: '/.auth/frontchannel-logout',
  /** static assets of the gateway's own pages (CSS, icons) */
  assets: '/.auth/assets/',
});

/** Is this normalised path reserved for the gateway? */
export function isReservedPath(path: string): boolean {
  return path === RESERVED_PREFIX || path.startsWith(`${RESERVED_PREFIX}/`);
}
