/**
 * The page shell for every page the gateway renders (sign-in, errors, settings):
 * no external assets and a strict Content-Security-Policy.
 *
 * The stylesheet is inlined and allowed by its hash: a page must look right on any
 * host and error path — the 421 page of an unknown host, the 400 of a bad path —
 * where a request for /.auth/assets/ would itself be refused. The one small script
 * (progressive enhancement only) is served from /.auth/assets/ (hashed, long-cached).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { html, raw, type SafeHtml } from './html.ts';
import { STYLESHEET as STYLESHEET_SOURCE } from './style.ts';
import { SCRIPT } from './script.ts';
import { PATHS } from '../routing/reserved.ts';

function asset(body: string, type: string) {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
  return Object.freeze({ body, type, etag: `"${hash}"`, hash });
}

export const ASSETS = Object.freeze({
  js: asset(SCRIPT, 'text/javascript; charset=utf-8'),
});
/** what every page inlines: the stylesheet without its comments (they are for its readers, not every response) */
// eslint-disable-next-line security/detect-unsafe-regex -- the unrolled-loop comment pattern (each repetition starts with a character \*+ cannot take), on our own constant stylesheet
const STYLESHEET = STYLESHEET_SOURCE.replace(/\/\*[^*]*\*+(?:[^/*][^*]*\*+)*\//g, '').replace(/\n{2,}/g, '\n');
/** the CSP source that allows exactly the inlined stylesheet */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLESHEET).digest('base64')}'`;
export const JS_URL = `${PATHS.assets}gateway.js?v=${ASSETS.js.hash}`;

export interface PageOptions {
  readonly title: string;
  readonly body: SafeHtml;
  /** site name shown under the brand (e.g. "Staff" or the client's name) */
  readonly siteName?: string;
  /** wider layout for settings pages */
  readonly wide?: boolean;
  /** other origins forms on this page may post/redirect to (e.g. the Entra authority for sign-out) */
  readonly formTargets?: readonly string[];
}

/** The CSP for gateway pages; `formTargets` adds origins for form submissions that redirect. */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    "script-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action 'self'${formTargets.map((t) => ` ${t}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function renderPage(opts: PageOptions): string {
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${opts.title} · Regentra</title>
<style>${raw(STYLESHEET)}</style>
<script src="${JS_URL}" defer></script>
</head>
<body>
<main class="${opts.wide ? 'shell wide' : 'shell'}">
<header class="brand"><span class="logo" aria-hidden="true">R</span><span class="brand-name">Regentra</span>${opts.siteName ? html`<span class="site-name">${opts.siteName}</span>` : ''}</header>
<section class="card">
${opts.body}
</section>
<footer class="foot">Protected by Regentra Gateway</footer>
</main>
</body>
</html>`.value
  }`;
}

/** Send a gateway page with the security headers every page carries. */
export function sendPage(reply: FastifyReply, status: number, opts: PageOptions): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', contentSecurityPolicy(opts.formTargets))
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin') // same-origin: form posts carry a real Origin (CSRF checks); nothing leaks to other sites
    .header('cache-control', 'no-store')
    .send(renderPage(opts));
}
