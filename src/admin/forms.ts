/** Reading and validating the admin forms' fields (urlencoded bodies and query strings). */
import { CONSUMER_TENANT_REFUSAL, isConsumerTenant } from '../auth/entra/tenants.ts';
import type { FastifyRequest } from 'fastify';
import { GUID } from '../util/security.ts';

export const GUID_EXAMPLE = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** The parsed form body (an empty object when there is none or it is not a form). */
export function formBody(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  return b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

/** One text field: a single string (trimmed), '' when absent; null when repeated or not text. */
export function textField(source: Record<string, unknown>, name: string, maxLength = 200): string | null {
  const v = source[name];
  if (v === undefined) return '';
  if (typeof v !== 'string' || v.length > maxLength) return null;
  return v.trim();
}

/** A checkbox: present (any single value) means on. */
export function checkbox(source: Record<string, unknown>, name: string): boolean {
  return typeof source[name] === 'string';
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A GUID such as a tenant or application id, lower-cased; '' when `optional` and empty. */
export function parseGuid(raw: string | null, what: string, optional = false): Parsed<string> {
  if (raw === null) return { ok: false, error: `${what} is not valid.` };
  if (raw === '') return optional ? { ok: true, value: '' } : { ok: false, error: `Enter the ${what}.` };
  if (!GUID.test(raw)) return { ok: false, error: `The ${what} must be a GUID such as ${GUID_EXAMPLE}.` };
  return { ok: true, value: raw.toLowerCase() };
}

/** A tenant ID: a GUID ('' when `optional` and empty), never the personal-accounts tenant. */
export function parseTenantId(raw: string | null, what: string, optional = false): Parsed<string> {
  const parsed = parseGuid(raw, what, optional);
  if (parsed.ok && isConsumerTenant(parsed.value)) return { ok: false, error: `This ${what} ${CONSUMER_TENANT_REFUSAL}.` };
  return parsed;
}

/** A client secret as pasted: '' keeps the stored one; no spaces or control characters. */
export function parseSecret(source: Record<string, unknown>, name: string): Parsed<string> {
  const v = source[name];
  if (v === undefined || v === '') return { ok: true, value: '' };
  if (typeof v !== 'string' || v.length > 1024) return { ok: false, error: 'The client secret is not valid.' };
  const s = v.trim();
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(s))
    return { ok: false, error: "The client secret must not contain spaces or control characters. Paste the secret's Value again." };
  return { ok: true, value: s };
}
