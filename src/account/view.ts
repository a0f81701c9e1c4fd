/**
 * Templates of the person's own account page (/.auth/account, ./routes.ts): password,
 * authenticator, recovery codes, sessions; the new-authenticator step; recovery codes
 * shown once. Pure functions returning PageOptions; every form carries the CSRF token.
 */
import { html, type SafeHtml } from '../pages/html.ts';
import type { PageOptions } from '../pages/layout.ts';
import { formatTime, noticeBox, type Notice } from '../pages/admin.ts';
import { PATHS } from '../routing/reserved.ts';
import { RECOVERY_CODE_COUNT } from '../auth/totp/enrolment.ts';
import type { SessionRecord } from '../store/types.ts';

export const ACCOUNT_PATHS = Object.freeze({
  home: PATHS.account,
  password: `${PATHS.account}/password`,
  authenticator: `${PATHS.account}/authenticator`,
  authenticatorConfirm: `${PATHS.account}/authenticator/confirm`,
  recoveryCodes: `${PATHS.account}/recovery-codes`,
  sessions: `${PATHS.account}/sessions`,
});

/** "Firefox on Windows", from a User-Agent (a hint for people, never a security decision). */
export function describeDevice(ua: string | null): string {
  if (!ua) return 'Unknown device';
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\/|Opera/.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrome\/|CriOS\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : /curl\//i.test(ua)
              ? 'curl'
              : 'A browser';
  const os = /Windows/.test(ua)
    ? 'Windows'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /Android/.test(ua)
        ? 'Android'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : null;
  return os ? `${browser} on ${os}` : browser;
}

export interface AccountPageView {
  readonly siteName: string;
  readonly csrf: string;
  readonly email: string;
  readonly name: string;
  readonly viaMicrosoft: boolean;
  /** the password sections apply (a password, and password sign-in allowed here) */
  readonly password: boolean;
  readonly totp: boolean;
  readonly minLength: number;
  readonly recoveryLeft: number;
  readonly sessions: readonly SessionRecord[];
  readonly currentSid: string;
  readonly notice: Notice | null;
}

function csrf(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}

function codeInput(id: string, label: string): SafeHtml {
  return html`<label for="${id}">${label} <span class="hint">(6 digits from your authenticator app)</span></label>
<input id="${id}" name="code" type="text" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" autocomplete="one-time-code" required>`;
}

function passwordSection(v: AccountPageView): SafeHtml {
  return html`<section class="panel" aria-labelledby="pw-h"><h2 id="pw-h">Password</h2>
<form method="post" action="${ACCOUNT_PATHS.password}">
${csrf(v.csrf)}
<input type="text" name="username" value="${v.email}" autocomplete="username" hidden>
<label for="current">Current password</label>
<input id="current" name="current" type="password" autocomplete="current-password" required maxlength="1024">
${v.totp ? codeInput('pw-code', 'Code') : ''}
<label for="new-password">New password <span class="hint">(at least ${String(v.minLength)} characters)</span></label>
<input id="new-password" name="password" type="password" autocomplete="new-password" required minlength="${String(v.minLength)}" maxlength="1024">
<label for="confirm">Repeat the new password</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required maxlength="1024">
<button class="btn" type="submit">Change password</button>
</form>
<p class="hint">Your other sessions end when the password changes; this one stays signed in.</p>
</section>`;
}

function authenticatorSection(v: AccountPageView): SafeHtml {
  if (!v.totp) {
    return html`<section class="panel" aria-labelledby="mfa-h"><h2 id="mfa-h">Two-step verification</h2><p>Not set up. ${v.siteName} asks you to set it up at a password sign-in when it is required.</p></section>`;
  }
  return html`<section class="panel" aria-labelledby="mfa-h"><h2 id="mfa-h">Authenticator app</h2>
<p>Moving to a new phone? Set up the new authenticator here: first a code from the one you use now.</p>
<form method="post" action="${ACCOUNT_PATHS.authenticator}">
${csrf(v.csrf)}
${codeInput('auth-code', 'Code from your current app')}
<button class="btn secondary" type="submit">Set up a new authenticator</button>
</form>
</section>
<section class="panel" aria-labelledby="rc-h"><h2 id="rc-h">Recovery codes</h2>
<p><strong id="recovery-left">${String(v.recoveryLeft)} of ${String(RECOVERY_CODE_COUNT)}</strong> recovery codes left.${v.recoveryLeft <= 3 ? html` <span class="warn-text">Make new ones soon.</span>` : ''}</p>
<form method="post" action="${ACCOUNT_PATHS.recoveryCodes}">
${csrf(v.csrf)}
${codeInput('rc-code', 'Code')}
<button class="btn secondary" type="submit">Make new recovery codes</button>
</form>
<p class="hint">New codes replace all the old ones.</p>
</section>`;
}

function sessionsSection(v: AccountPageView): SafeHtml {
  const others = v.sessions.filter((s) => s.sid !== v.currentSid).length;
  return html`<section class="panel" aria-labelledby="s-h"><h2 id="s-h">Where you are signed in</h2>
<div class="table-wrap" role="region" tabindex="0" aria-label="Your active sessions"><table class="sessions"><caption class="sr-only">Your active sessions</caption>
<thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Signed in</th><th scope="col">Last seen</th></tr></thead>
<tbody>${v.sessions.map((s) => html`<tr><td>${describeDevice(s.userAgent)}${s.sid === v.currentSid ? html`<br><span class="this-device">This device</span>` : ''}</td><td>${s.ip ?? '—'}</td><td class="nowrap">${formatTime(s.createdAt)}</td><td class="nowrap">${formatTime(s.lastSeen)}</td></tr>`)}</tbody>
</table></div>
<p class="hint">“Last seen” is updated every few minutes.</p>
${others > 0 ? html`<form method="post" action="${ACCOUNT_PATHS.sessions}">${csrf(v.csrf)}<button class="btn secondary" type="submit" name="action" value="sign-out-others">Sign out the other ${String(others)} session${others === 1 ? '' : 's'}</button></form>` : html`<p>No other sessions.</p>`}
</section>`;
}

export function accountPage(v: AccountPageView): PageOptions {
  return {
    title: 'Your account',
    siteName: v.siteName,
    wide: true,
    body: html`<div class="topbar"><span>Signed in as <strong>${v.email}</strong></span><a href="${PATHS.logout}">Sign out</a></div>
<h1>Your account</h1>
<p class="lead">${v.name} · ${v.email}${v.viaMicrosoft ? ' · signed in with Microsoft' : ''}</p>
${noticeBox(v.notice)}
${v.password ? html`${passwordSection(v)}${authenticatorSection(v)}` : html`<section class="panel"><h2>Password and two-step verification</h2><p>You sign in with your Microsoft work account: its password and multi-factor authentication are managed by your organisation.</p></section>`}
${sessionsSection(v)}
<p class="links"><a href="/">Back to ${v.siteName}</a></p>`,
  };
}

export function newAuthenticatorPage(v: { siteName: string; csrf: string; qrDataUri: string; secret: string; account: string; error: boolean }): PageOptions {
  return {
    title: 'Set up a new authenticator',
    siteName: v.siteName,
    body: html`<h1>Set up a new authenticator</h1>
<p class="lead">Scan this QR code with the new app (or enter the key), then enter the code it shows. Until then your current app keeps working.</p>
${v.error ? html`<div class="alert error" role="alert">That code is not correct or has expired. Enter the current 6-digit code from the new app.</div>` : ''}
<div class="qr"><img src="${v.qrDataUri}" width="200" height="200" alt="QR code to add ${v.account} to your authenticator app"></div>
<div class="copy"><code class="secret" id="totp-secret">${v.secret.replace(/(.{4})(?!$)/g, '$1 ')}</code><button class="btn secondary inline" type="button" data-copy="totp-secret">Copy</button></div>
<form method="post" action="${ACCOUNT_PATHS.authenticatorConfirm}">
${csrf(v.csrf)}
${codeInput('new-code', 'Code from the new app')}
<button class="btn" type="submit">Use the new authenticator</button>
</form>
<p class="links"><a href="${ACCOUNT_PATHS.home}">Cancel</a></p>`,
  };
}

export function codesPage(v: { siteName: string; codes: readonly string[]; title: string }): PageOptions {
  return {
    title: v.title,
    siteName: v.siteName,
    body: html`<h1>${v.title}</h1>
<div class="alert warn" role="status">This is the only time these recovery codes are shown; the old ones no longer work. Each code works once.</div>
<ol class="codes" id="recovery-codes" aria-label="Recovery codes">${v.codes.map((c) => html`<li>${c}</li>`)}</ol>
<button class="btn secondary" type="button" data-copy="recovery-codes">Copy</button>
<a class="btn" href="${ACCOUNT_PATHS.home}">Back to your account</a>`,
  };
}
