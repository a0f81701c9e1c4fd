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

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { service: 'regentra-gateway' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    serializers: {
      req(req: { method: string; url: string; headers: Record<string, unknown>; ip?: string; id?: string }) {
        return { method: req.method, url: req.url, host: req.headers.host, ip: req.ip };
      },
    },
  };
}
