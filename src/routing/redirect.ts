/**
 * Post-sign-in redirect targets (`rd`). Only a path on the gateway's own host is
 * ever followed: anything else — another origin, a scheme, `//host`, `/\host`,
 * control characters, encoded separators, a reserved /.auth path other than the
 * settings pages under /.auth/admin/ — becomes "/".
 * The accepted target is returned in normalised form, so what is validated is
 * exactly what is put in the Location header.
 */
import { normalizeTarget } from './path.ts';
import { isReservedPath, PATHS } from './reserved.ts';

const MAX_LENGTH = 2048;

export function safeRedirectTarget(rd: unknown, fallback = '/'): string {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > MAX_LENGTH) return fallback;
  // a same-host path starts with exactly one "/" and is not followed by "/" or "\"
  if (rd.charCodeAt(0) !== 47 || rd[1] === '/' || rd[1] === '\\') return fallback;
  // raw controls, spaces, backslashes and non-ASCII anywhere are refused outright
  for (let i = 0; i < rd.length; i++) {
    const c = rd.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x5c) return fallback;
  }
  const n = normalizeTarget(rd);
  if (!n.ok) return fallback;
  // the gateway's own paths are no destination, except its settings pages (an admin sent to sign in comes back)
  if (!n.path.startsWith('/') || n.path.startsWith('//') || (isReservedPath(n.path) && !n.path.startsWith(PATHS.admin))) return fallback;
  const target = n.query ? `${n.path}?${n.query}` : n.path;
  // belt and braces: resolving against a dummy origin must keep that origin
  try {
    const u = new URL(target, 'https://gateway.invalid');
    if (u.origin !== 'https://gateway.invalid') return fallback;
  } catch {
    return fallback;
  }
  return target;
}
