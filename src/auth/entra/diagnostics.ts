/**
 * The identifiers Microsoft support asks for when a sign-in fails: Entra's trace ID,
 * correlation ID and timestamp (token and discovery error bodies carry them as
 * `trace_id`, `correlation_id`, `timestamp`; an error sent to the redirect URI only in
 * the `error_description` text, "Trace ID: … Correlation ID: … Timestamp: …"), and
 * Graph's `request-id`, `client-request-id` and `date` (its `innerError`).
 *
 * Only values of their documented shape are kept (GUIDs, an ISO-like UTC time), so
 * nothing else of Microsoft's text reaches a page or a log; they hold no secret.
 */
import { html, type SafeHtml } from '../../pages/html.ts';
import { GUID } from '../../util/security.ts';

export type { MicrosoftIds } from '../../settings/types.ts';
import type { MicrosoftIds } from '../../settings/types.ts';

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, only bounded quantifiers: linear
const TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z?$/;
const IN_TEXT = {
  traceId: /Trace ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i,
  correlationId: /Correlation ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i,
  // eslint-disable-next-line security/detect-unsafe-regex -- bounded quantifiers after a literal prefix, \s* then a digit cannot overlap: linear
  timestamp: /Timestamp:\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z)/,
};

function guid(value: unknown): string | null {
  return typeof value === 'string' && GUID.test(value) ? value.toLowerCase() : null;
}

function time(value: unknown): string | null {
  return typeof value === 'string' && TIME.test(value) ? value : null;
}

function ids(traceId: string | null, correlationId: string | null, requestId: string | null, timestamp: string | null): MicrosoftIds | null {
  if (traceId === null && correlationId === null && requestId === null && timestamp === null) return null;
  return Object.freeze({ traceId, correlationId, requestId, timestamp });
}

/** From an Entra error: the JSON body's fields, else the `error_description` text. */
export function entraIds(body: Readonly<Record<string, unknown>> | null | undefined, description: string | null | undefined): MicrosoftIds | null {
  const text = typeof description === 'string' ? description.slice(0, 8192) : '';
  const fromText = (name: keyof typeof IN_TEXT) => IN_TEXT[name].exec(text)?.[1] ?? null;
  return ids(
    guid(body?.trace_id) ?? guid(fromText('traceId')),
    guid(body?.correlation_id) ?? guid(fromText('correlationId')),
    null,
    time(body?.timestamp) ?? time(fromText('timestamp')),
  );
}

/** From a Graph error body `{error:{code,message,innerError:{date,'request-id','client-request-id'}}}`. */
export function graphIds(body: unknown, headers?: Headers): MicrosoftIds | null {
  const inner = (body as { error?: { innerError?: Record<string, unknown> } } | null)?.error?.innerError ?? {};
  return ids(null, guid(inner['client-request-id']), guid(inner['request-id']) ?? guid(headers?.get('request-id')), time(inner.date));
}

/** The identifiers as a line for an administrator ("give these to Microsoft support"). */
export function microsoftIdsHtml(m: MicrosoftIds | null | undefined): SafeHtml | string {
  if (!m) return '';
  const parts: Array<[string, string | null]> = [
    ['Trace ID', m.traceId],
    ['Correlation ID', m.correlationId],
    ['Request ID', m.requestId],
    ['Timestamp', m.timestamp],
  ];
  const shown = parts.filter((p): p is [string, string] => p[1] !== null);
  return html`<p class="ms-ids">For Microsoft support: ${shown.map(([label, value], i) => html`${i ? ' · ' : ''}${label} <code>${value}</code>`)}</p>`;
}
