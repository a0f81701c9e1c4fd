// HTML pages of the stand-in: account picker, admin consent, signed out, error.
// Plain forms, inline CSS, no scripts and no external assets.
import type { FakeUser } from './types.ts';
import { entraTimestamp } from './errors.ts';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:24px;
  font:15px/1.45 "Segoe UI","Segoe UI Web",system-ui,-apple-system,"Helvetica Neue",Arial,sans-serif;
  color:#1b1b1b;background:linear-gradient(135deg,#eef3fb 0%,#f6f2fa 100%)}
main{width:100%;max-width:440px;background:#fff;border-radius:8px;padding:36px 40px 28px;
  box-shadow:0 2px 6px rgba(0,0,0,.08),0 12px 32px rgba(0,0,0,.08)}
.brand{display:flex;align-items:center;gap:10px;font-weight:600;color:#5e5e5e;margin-bottom:20px}
.mark{display:grid;grid-template-columns:9px 9px;gap:2px}
.mark i{display:block;width:9px;height:9px;background:#0067b8}
.mark i:nth-child(2),.mark i:nth-child(3){background:#50a0e0}
.badge{margin-left:auto;font-size:11px;font-weight:700;letter-spacing:.06em;color:#8a5a00;background:#fff4ce;
  border:1px solid #f2d68a;border-radius:4px;padding:1px 6px}
h1{font-size:24px;font-weight:600;margin:0 0 6px}
p{margin:0 0 16px}
.sub{color:#5e5e5e}
ul{list-style:none;margin:0 0 16px;padding:0}
li+li{border-top:1px solid #edebe9}
.account{display:flex;width:100%;align-items:center;gap:14px;padding:12px 8px;border:0;background:none;
  text-align:left;font:inherit;color:inherit;cursor:pointer;border-radius:4px}
.account:hover,.account:focus-visible{background:#f3f2f1;outline:none}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;display:flex;align-items:center;justify-content:center;
  background:#0067b8;color:#fff;font-weight:600}
.who{display:flex;flex-direction:column;min-width:0}
.who strong{font-weight:600}
.who span{color:#5e5e5e;font-size:13px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.hint{font-size:11px;color:#0067b8;font-weight:600}
.row{display:flex;gap:8px;justify-content:flex-end;margin-top:8px}
.btn{min-width:108px;padding:7px 16px;border-radius:2px;border:1px solid #8a8886;background:#fff;font:inherit;cursor:pointer}
.btn.primary{background:#0067b8;border-color:#0067b8;color:#fff}
.btn:hover{filter:brightness(.95)}
.perms{border:1px solid #edebe9;border-radius:4px;padding:12px 16px;margin:0 0 16px}
.perms li{padding:4px 0;border:0}
code,.mono{font-family:Consolas,"Cascadia Mono",monospace;font-size:13px;word-break:break-all}
.error{border-left:4px solid #a80000;background:#fde7e9;padding:10px 12px;margin:0 0 16px}
.details{color:#5e5e5e;font-size:12px}
.details div{margin:2px 0}
.foot{margin:20px 0 0;color:#8a8886;font-size:12px}
a{color:#0067b8}
`;

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<div class="brand"><span class="mark" aria-hidden="true"><i></i><i></i><i></i><i></i></span><span>Entra stand-in</span><span class="badge">TEST</span></div>
${body}
<p class="foot">Local Microsoft Entra ID stand-in for development and tests — no real accounts, no passwords.</p>
</main>
</body>
</html>`;
}

function initials(name: string): string {
  const words = name.split(/\s+/).filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words.length > 1 ? (words.at(-1)?.[0] ?? '') : '')).toUpperCase();
}

export interface LoginPageInput {
  tenantName: string;
  clientId: string;
  redirectHost: string | undefined;
  users: readonly FakeUser[];
  /** the request's login_hint names this user */
  hinted: (user: FakeUser) => boolean;
  action: string;
  cancelAction: string;
}

export function loginPage(input: LoginPageInput): string {
  const hinted = input.hinted;
  const users = [...input.users].sort((a, b) => Number(hinted(b)) - Number(hinted(a)));
  const accounts = users
    .map((u) => {
      const label = `Sign in as ${u.name}`;
      return `<li><button class="account" type="submit" name="oid" value="${escapeHtml(u.oid)}" aria-label="${escapeHtml(label)}">
<span class="avatar" aria-hidden="true">${escapeHtml(initials(u.name))}</span>
<span class="who"><strong>${escapeHtml(label)}</strong><span>${escapeHtml(u.preferredUsername)}</span>${hinted(u) ? '<span class="hint">Suggested (login_hint)</span>' : ''}</span>
</button></li>`;
    })
    .join('\n');
  const target = input.redirectHost ? ` to continue to <strong>${escapeHtml(input.redirectHost)}</strong>` : '';
  return layout(
    `Sign in — Entra stand-in (${input.tenantName})`,
    `<h1>Pick an account</h1>
<p class="sub">Sign in to <strong>${escapeHtml(input.tenantName)}</strong>${target}.<br><span class="mono">App ${escapeHtml(input.clientId)}</span></p>
<form method="post" action="${escapeHtml(input.action)}">
<ul>
${accounts || '<li><p>This tenant has no users.</p></li>'}
</ul>
</form>
<form method="post" action="${escapeHtml(input.cancelAction)}" class="row">
<button class="btn" type="submit">Cancel</button>
</form>`,
  );
}

export interface AdminConsentPageInput {
  tenantName: string;
  clientId: string;
  scopes: readonly string[];
  action: string;
  fields: Record<string, string | undefined>;
}

export function adminConsentPage(input: AdminConsentPageInput): string {
  const hidden = Object.entries(input.fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const perms = input.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return layout(
    `Grant consent for ${input.tenantName} — Entra stand-in`,
    `<h1>Grant consent for ${escapeHtml(input.tenantName)}</h1>
<p class="sub">The application <span class="mono">${escapeHtml(input.clientId)}</span> asks for these permissions on behalf of everyone in your organization:</p>
<ul class="perms">${perms}</ul>
<p class="sub">Accepting lets the app sign in users of ${escapeHtml(input.tenantName)}.</p>
<form method="post" action="${escapeHtml(input.action)}" class="row">
${hidden}
<button class="btn" type="submit" name="decision" value="cancel">Cancel</button>
<button class="btn primary" type="submit" name="decision" value="accept">Accept</button>
</form>`,
  );
}

export interface PermissionsPageInput {
  tenantName: string;
  clientId: string;
  scopes: readonly string[];
  action: string;
}

/** User consent ("Permissions requested"): accepting grants the app for this user only. */
export function permissionsPage(input: PermissionsPageInput): string {
  const perms = input.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return layout(
    `Permissions requested — Entra stand-in (${input.tenantName})`,
    `<h1 data-page="permissions">Permissions requested</h1>
<p class="sub">The application <span class="mono">${escapeHtml(input.clientId)}</span> (unverified publisher) would like to:</p>
<ul class="perms">${perms}</ul>
<p class="sub">Accepting lets this app use the permissions above for you only. Your organization (${escapeHtml(input.tenantName)}) allows users to consent.</p>
<form method="post" action="${escapeHtml(input.action)}" class="row">
<button class="btn" type="submit" name="decision" value="cancel">Cancel</button>
<button class="btn primary" type="submit" name="decision" value="accept">Accept</button>
</form>`,
  );
}

export interface SignOutPickerInput {
  account: { oid: string; name: string; username: string };
  action: string;
  fields: Record<string, string>;
}

/** "Pick an account" before signing out (Entra shows it when no logout_hint names the account). */
export function signOutPickerPage(input: SignOutPickerInput): string {
  const hidden = Object.entries(input.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const a = input.account;
  return layout(
    'Sign out — Entra stand-in',
    `<h1 data-page="signout-picker">Pick an account</h1>
<p class="sub">Which account do you want to sign out of?</p>
<form method="post" action="${escapeHtml(input.action)}">
${hidden}
<ul><li><button class="account" type="submit" name="account" value="${escapeHtml(a.oid)}" aria-label="${escapeHtml(`Sign out ${a.name}`)}">
<span class="avatar" aria-hidden="true">${escapeHtml(initials(a.name))}</span>
<span class="who"><strong>${escapeHtml(a.name)}</strong><span>${escapeHtml(a.username)}</span></span>
</button></li></ul>
</form>`,
  );
}

export function signedOutPage(): string {
  return layout(
    'Signed out — Entra stand-in',
    `<h1>You signed out of your account</h1>
<p class="sub">It's a good idea to close all browser windows.</p>`,
  );
}

export interface ErrorPageInput {
  code: number;
  message: string;
  correlationId: string;
}

export function errorPage(input: ErrorPageInput): string {
  return layout(
    'Sign in error — Entra stand-in',
    `<h1>Sorry, but we're having trouble signing you in.</h1>
<div class="error" role="alert">AADSTS${input.code}: ${escapeHtml(input.message)}</div>
<div class="details">
<div>Correlation Id: <span class="mono">${escapeHtml(input.correlationId)}</span></div>
<div>Timestamp: ${entraTimestamp()}</div>
</div>`,
  );
}

export function indexPage(input: { url: string; tenants: ReadonlyArray<{ id: string; name: string }> }): string {
  const rows = input.tenants
    .map(
      (t) =>
        `<li><strong>${escapeHtml(t.name)}</strong><br><a class="mono" href="/${escapeHtml(t.id)}/v2.0/.well-known/openid-configuration">${escapeHtml(`${input.url}/${t.id}/v2.0`)}</a></li>`,
    )
    .join('');
  return layout('Entra stand-in', `<h1>Entra stand-in</h1><p class="sub">Tenants (issuers):</p><ul class="perms">${rows}</ul>`);
}
