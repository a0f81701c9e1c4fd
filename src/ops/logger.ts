/**
 * pino logger options: JSON lines, request ids, and redaction of every place a
 * secret or a cookie could appear.
 */
import type { LoggerOptions } from 'pino';

export const REDACT_PATHS: readonly string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-regentra-identity"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.totpSecret',
  '*.code',
  '*.access_token',
  '*.id_token',
  '*.refresh_token',
];

/** query parameters that carry a one-time credential (set-up links, hand-off tickets, OIDC codes): logged as [redacted] */
const SECRET_QUERY = /([?&](?:token|ticket|code|state)=)[^&#]*/gi;

/** The request target with the values of credential-bearing query parameters redacted. */
export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { service: 'regentra-gateway' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    serializers: {
      req(req: { method: string; url: string; headers: Record<string, unknown>; ip?: string; id?: string }) {
        return { method: req.method, url: redactUrl(req.url), host: req.headers.host, ip: req.ip };
      },
    },
  };
}
