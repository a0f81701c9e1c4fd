/**
 * Credentials in URLs, kept out of log lines. Sign-in URLs carry them in the query:
 * `/.auth/callback?code=…&state=…`, `/.auth/handoff?ticket=…`, the admin-consent
 * callback's `state`, and proxied requests may carry an app's own (`?access_token=`,
 * `?api_key=`, a pre-signed `X-Amz-Signature`). A log line keeps the path and every
 * parameter name; a credential's value becomes `[redacted]`.
 *
 * Hot path: every access-log line passes here. Text without "=" (a path without a
 * query, most messages) is returned as is after one indexOf.
 */

export const REDACTED = '[redacted]';

/** parameter names (lower case) whose value is a credential */
const EXACT = new Set([
  'code',
  'state',
  'ticket',
  'id_token',
  'session_state',
  'client_secret',
  'client_assertion',
  'password',
  'code_verifier',
  'key',
  'sig',
  'otp',
  'nonce',
  'samlresponse',
  'samlrequest',
  'relaystate',
]);
/** …and any name that contains one of these (`access_token`, `new_password`, `X-Amz-Signature`, `jsessionid`) */
const PARTS = ['token', 'secret', 'passw', 'assertion', 'signature', 'apikey', 'api_key', 'credential', 'session', 'sessid'];

export function isCredentialName(raw: string): boolean {
  let name = raw;
  if (name.includes('%') || name.includes('+')) {
    try {
      name = decodeURIComponent(name.replaceAll('+', ' '));
    } catch {
      // a malformed escape: judge the name as written
    }
  }
  name = name.trim().toLowerCase();
  if (EXACT.has(name)) return true;
  for (const part of PARTS) if (name.includes(part)) return true;
  return false;
}

/**
 * `name=value` after `?`, `&`, `;` or `#` (how servers and browsers split queries, path
 * parameters and fragments), in a URL or in text that embeds one (an error message).
 * A value runs to the next `&` or `#` (a `?` or `;` may be part of it, as query parsers
 * read it), or to white space or a quote in text.
 */
const PARAM = /([?&;#])([^?&;#=\s"'<>]*)=([^&#\s"'<>]*)/g;

/** `text` with the value of every credential-bearing parameter replaced by `[redacted]`. */
export function redactCredentials(text: string): string {
  if (text.indexOf('=') === -1) return text;
  return text.replace(PARAM, (whole, sep: string, name: string, value: string) => {
    if (isCredentialName(name)) return `${sep}${name}=${REDACTED}`;
    // `?x=1;code=…` (split on ";" by some servers) or `?x=a?code=…`: the parameters inside the value
    if (value.includes('=')) {
      const inner = redactCredentials(value);
      if (inner !== value) return `${sep}${name}=${inner}`;
    }
    // a URL inside a parameter (`/.auth/login?rd=%2Fapp%3Ftoken%3D…`): its credentials too
    if (/%3[Ff]|%23|%26/.test(value)) {
      const decoded = safeDecode(value);
      if (decoded !== null) {
        const redacted = redactCredentials(decoded);
        if (redacted !== decoded) return `${sep}${name}=${encodeURIComponent(redacted)}`;
      }
    }
    return whole;
  });
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return null;
  }
}
