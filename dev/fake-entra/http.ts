// Small node:http helpers shared by the stand-in's own (non-oidc-provider) routes.
import type { IncomingMessage, ServerResponse } from 'node:http';

const NO_STORE = 'no-store, no-cache';
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': NO_STORE,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': NO_STORE,
    'content-security-policy': PAGE_CSP,
    'x-frame-options': 'DENY',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location, 'cache-control': NO_STORE, 'content-length': 0 });
  res.end();
}

/** `url` with `params` appended to its query (existing query kept, as Entra does). */
export function withQuery(url: string, params: Record<string, string | undefined>): string {
  const target = new URL(url);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) target.searchParams.set(name, value);
  }
  return target.href;
}

const BODY_LIMIT = 64 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parameters of a urlencoded form body (other content types: none). */
export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const type = req.headers['content-type'] ?? '';
  const text = await readBody(req);
  if (!type.startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries(new URLSearchParams(text));
}

export function queryOf(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
}

/** Remove one cookie from the request's Cookie header (so the next handler does not see it). */
export function dropCookie(req: IncomingMessage, name: string): void {
  const header = req.headers.cookie;
  if (!header) return;
  const kept = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part && part.slice(0, part.indexOf('=')) !== name && part.slice(0, part.indexOf('=')) !== `${name}.sig`);
  if (kept.length) req.headers.cookie = kept.join('; ');
  else delete req.headers.cookie;
}

/** Tell the browser to forget a cookie (and its `.sig`), keeping any Set-Cookie already queued. */
export function expireCookie(res: ServerResponse, name: string): void {
  const previous = res.getHeader('set-cookie');
  const queued = Array.isArray(previous) ? previous : typeof previous === 'string' ? [previous] : [];
  const gone = [name, `${name}.sig`].map((n) => `${n}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax`);
  res.setHeader('set-cookie', [...queued, ...gone]);
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
