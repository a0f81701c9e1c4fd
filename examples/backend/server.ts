/**
 * A sample backend behind Regentra Gateway: it trusts nothing but the signed
 * `X-Regentra-Identity` header, verified with `verifyIdentity` against the
 * gateway's JWKS, and shows the identity it received.
 *
 *   node examples/backend/server.ts --port 3001 --name "Staff app" --audience staff \
 *        --jwks http://127.0.0.1:8080/.auth/jwks.json --issuer regentra-gateway
 *
 * The JWKS is fetched through the gateway; any host the gateway serves answers
 * /.auth/jwks.json, so pass `--jwks-host staff.localhost` when the URL is an IP.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyIdentity, IdentityError, type VerifiedIdentity } from '../../src/identity/verify.ts';
import { escapeHtml } from '../../src/pages/html.ts';

export interface SampleBackendOptions {
  readonly port: number;
  readonly host?: string;
  readonly name: string;
  readonly audience: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  /** colour of the app's header, to tell the apps apart */
  readonly accent?: string;
}

export interface SampleBackend {
  readonly url: string;
  close(): Promise<void>;
}

/** the gateway's settings pages (staff admins only; the gateway checks, this link only helps) */
const SETTINGS = '/.auth/admin/';

/** the verified identity is a staff admin (the role claim; X-Regentra-Role carries the same) */
function isStaffAdmin(who: VerifiedIdentity): boolean {
  return who.realm === 'staff' && who.role === 'admin';
}

function page(opts: SampleBackendOptions, req: IncomingMessage, who: VerifiedIdentity | null, problem: string | null): string {
  const rows = (pairs: Array<[string, string]>) => pairs.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const inbound = Object.entries(req.headers)
    .filter(([k]) => k.startsWith('x-regentra-') && k !== 'x-regentra-identity')
    .map(([k, v]) => [k, String(v)] as [string, string]);
  const accent = opts.accent ?? '#3346d3';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(opts.name)}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;background:#f6f7fb;color:#1b2333}header{background:${accent};color:#fff;padding:18px 28px;display:flex;align-items:center;justify-content:space-between}
header a{color:#fff}main{max-width:860px;margin:28px auto;padding:0 20px}.card{background:#fff;border:1px solid #dfe3ec;border-radius:12px;padding:22px;margin-bottom:18px}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:7px;border-bottom:1px solid #eef0f5;vertical-align:top}th{width:190px;color:#5b6577;font-weight:600}
.ok{color:#067647;font-weight:700}.bad{color:#b42318;font-weight:700}code{word-break:break-all;font-size:12px}</style></head><body>
<header><strong>${escapeHtml(opts.name)}</strong><span>${who ? `${escapeHtml(who.name)} · ${isStaffAdmin(who) ? `<a href="${SETTINGS}">Settings</a> · ` : ''}<a href="/.auth/logout">Sign out</a>` : ''}</span></header><main>
${who && isStaffAdmin(who) ? `<div class="card"><h2>Staff settings</h2><p>You are a staff admin: single sign-on, each client's portal sign-in and the audit log are in the gateway's <a href="${SETTINGS}">Settings</a>.</p></div>` : ''}
<div class="card"><h2>Who is signed in</h2>${
    who
      ? `<p class="ok">✔ Signed identity verified (ES256 signature, issuer, audience "${escapeHtml(opts.audience)}", expiry) with the gateway's JWKS.</p>
<table>${rows([
          ['Name', who.name],
          ['Email', who.email],
          ['User id (sub)', who.sub],
          ['Realm', who.realm],
          ['Client', who.client ?? '—'],
          ['Role', who.role ?? '—'],
          ['Sign-in methods (amr)', who.amr.join(', ')],
          ['Signed in at', new Date(who.authTime * 1000).toISOString()],
          ['Session id', who.sid],
        ])}</table>`
      : `<p class="bad">✘ No valid identity: ${escapeHtml(problem ?? 'unknown')}</p>`
  }</div>
<div class="card"><h2>Convenience headers received</h2><table>${rows(inbound)}</table></div>
<div class="card"><h2>Request</h2><table>${rows([
    ['Path', req.url ?? ''],
    ['Host', String(req.headers.host)],
    ['X-Forwarded-For', String(req.headers['x-forwarded-for'] ?? '')],
    ['Cookies the app sees', String(req.headers.cookie ?? '(none)')],
  ])}</table></div>
</main></body></html>`;
}

export async function startSampleBackend(opts: SampleBackendOptions): Promise<SampleBackend> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (req.url === '/health' || req.url?.startsWith('/assets/')) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`${opts.name}: ok\n`);
        return;
      }
      let who: VerifiedIdentity | null = null;
      let problem: string | null = null;
      try {
        who = await verifyIdentity(req.headers, { jwksUrl: opts.jwksUrl, audience: opts.audience, issuer: opts.issuer });
      } catch (err) {
        problem = err instanceof IdentityError ? `${err.code}: ${err.message}` : String(err);
      }
      if (req.headers.accept?.includes('application/json')) {
        res
          .writeHead(who ? 200 : 401, { 'content-type': 'application/json' })
          .end(JSON.stringify(who ? { app: opts.name, identity: who } : { app: opts.name, error: problem }));
        return;
      }
      // a page about the signed-in person: never kept by the browser or a shared cache
      res.writeHead(who ? 200 : 401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store, private' }).end(page(opts, req, who, problem));
    })();
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
