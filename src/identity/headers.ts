/**
 * Identity headers: the names, the strip rule and the injection.
 *
 * Strip first: every inbound header whose name, lower-cased with `_` read as `-`,
 * starts with `x-regentra` is removed (so `X-Regentra-Email`, `x_regentra_email`,
 * `X-REGENTRA_Identity` … never reach an upstream), then the gateway's own are set.
 *
 * Convenience headers carry text with every non-ASCII or control character, and
 * `%` itself, percent-encoded as UTF-8: "José Ñúñez" is sent as `Jos%C3%A9 %C3%91%C3%BA%C3%B1ez`
 * and plain ASCII (`ada@example.com`) is unchanged. Decode with `decodeURIComponent`
 * (Python `urllib.parse.unquote`, Go `url.PathUnescape`).
 * The signed `X-Regentra-Identity` JWT carries the same values unencoded and is the
 * one to trust.
 */
export const IDENTITY_HEADER = 'x-regentra-identity';

export const HEADERS = Object.freeze({
  identity: IDENTITY_HEADER,
  userId: 'x-regentra-user-id',
  email: 'x-regentra-email',
  name: 'x-regentra-name',
  realm: 'x-regentra-realm',
  client: 'x-regentra-client',
  authMethod: 'x-regentra-auth-method',
  role: 'x-regentra-role',
  /** portal: the person's Entra app roles, space-separated (role values have no spaces) */
  roles: 'x-regentra-roles',
});

const PREFIX = 'x-regentra';

/** Is this inbound header name one of the gateway's (in any case, with `_` or `-`)? */
export function isIdentityHeaderName(name: string): boolean {
  if (name.length < PREFIX.length) return false;
  const c0 = name.charCodeAt(0);
  if (c0 !== 0x78 && c0 !== 0x58) return false; // fast reject: not x/X
  return name.slice(0, PREFIX.length).toLowerCase().replace('_', '-') === PREFIX;
}

/** Hop-by-hop and forwarding headers the proxy sets itself. */
export const FORWARDING_HEADERS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
]);

/** Encode a text value for a convenience header. */
export function headerText(value: string): string {
  return value.toWellFormed().replace(/[^\x20-\x7E]|%/gu, (c) => encodeURIComponent(c));
}
