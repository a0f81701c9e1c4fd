/**
 * The local sign-in pages: email + password (with "Sign in with Microsoft" when SSO
 * is on), the TOTP challenge, TOTP enrolment, the recovery codes shown once, and
 * recovery-code entry. Pure templates: each returns the PageOptions for sendPage.
 * Every form posts to its own /.auth path with the flow's CSRF token; the pages
 * need no script, and every input has a label and the right autocomplete hint.
 */
import { html, type SafeHtml } from './html.ts';
import type { PageOptions } from './layout.ts';
import { PATHS } from '../routing/reserved.ts';

export interface Notice {
  readonly kind: 'error' | 'warn' | 'ok';
  readonly text: string;
}

/** What every sign-in page knows: the site's name and the flow's CSRF token and target. */
export interface FlowView {
  readonly siteName: string;
  readonly csrf: string;
  /** the validated post-sign-in target */
  readonly rd: string;
  readonly notice?: Notice | null;
}

export interface SignInView extends FlowView {
  /** show the email + password form */
  readonly password: boolean;
  /** show "Sign in with Microsoft" */
  readonly sso: boolean;
  /** the email typed last time (refilled after an error) */
  readonly email?: string;
}

export interface EnrolView extends FlowView {
  readonly qrDataUri: string;
  readonly secret: string;
  readonly account: string;
}

function notice(n: Notice | null | undefined): SafeHtml | string {
  if (!n) return '';
  return html`<div class="alert ${n.kind}" role="${n.kind === 'error' ? 'alert' : 'status'}">${n.text}</div>`;
}

function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

const loginHref = (rd: string): string => `${PATHS.login}?rd=${encodeURIComponent(rd)}`;

/** The "Sign in with Microsoft" link (the /.auth/sso flow is the Entra strategy's). */
export function microsoftButton(rd: string): SafeHtml {
  return html`<a class="btn secondary" href="${PATHS.sso}?rd=${encodeURIComponent(rd)}"><span class="ms-logo" aria-hidden="true"><i></i><i></i><i></i><i></i></span>Sign in with Microsoft</a>`;
}

export function signInPage(v: SignInView): PageOptions {
  const form = html`<form method="post" action="${PATHS.login}">
${csrfField(v.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="254" value="${v.email ?? ''}"${v.email ? '' : html` autofocus`}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${v.email ? html` autofocus` : ''}>
<button class="btn" type="submit">Sign in</button>
</form>`;
  let methods: SafeHtml;
  if (v.password && v.sso) methods = html`${microsoftButton(v.rd)}<div class="divider">or sign in with your email</div>${form}`;
  else if (v.password) methods = form;
  else if (v.sso) methods = microsoftButton(v.rd);
  else methods = html`<div class="alert warn" role="status">No sign-in method is available for this site. Contact your administrator.</div>`;
  return {
    title: 'Sign in',
    siteName: v.siteName,
    body: html`<h1>Sign in</h1>
<p class="lead">Sign in to continue to ${v.siteName}.</p>
${notice(v.notice)}
${methods}`,
  };
}

/** Password sign-in is turned off for this site (SSO only). */
export function passwordOffPage(v: { siteName: string; rd: string; sso: boolean }): PageOptions {
  return {
    title: 'Password sign-in is turned off',
    siteName: v.siteName,
    body: html`<h1>Password sign-in is turned off</h1>
<p class="lead">${v.siteName} accepts Microsoft sign-in only. Sign in with your Microsoft work account instead.</p>
${v.sso ? microsoftButton(v.rd) : html`<div class="alert warn" role="status">No sign-in method is available for this site. Contact your administrator.</div>`}`,
  };
}

function codeField(label: string, hint: string, autocomplete: 'one-time-code' | 'off'): SafeHtml {
  const numeric = autocomplete === 'one-time-code';
  return html`<label for="code">${label} <span class="hint">${hint}</span></label>
<input id="code" name="code" type="text" class="${numeric ? 'code' : ''}" ${numeric ? html`inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7"` : html`maxlength="40" autocapitalize="none" spellcheck="false"`} autocomplete="${autocomplete}" required autofocus>`;
}

export function totpPage(v: FlowView): PageOptions {
  return {
    title: 'Two-step verification',
    siteName: v.siteName,
    body: html`<h1>Two-step verification</h1>
<p class="lead">Open your authenticator app and enter the 6-digit code it shows for Regentra.</p>
${notice(v.notice)}
<form method="post" action="${PATHS.loginTotp}">
${csrfField(v.csrf)}
${codeField('Authentication code', '(6 digits)', 'one-time-code')}
<button class="btn" type="submit">Verify</button>
</form>
<p class="links"><a href="${PATHS.loginRecovery}">Use a recovery code instead</a> · <a href="${loginHref(v.rd)}">Start over</a></p>`,
  };
}

export function recoveryPage(v: FlowView): PageOptions {
  return {
    title: 'Use a recovery code',
    siteName: v.siteName,
    body: html`<h1>Use a recovery code</h1>
<p class="lead">Lost your authenticator? Enter one of the recovery codes you saved when you set up two-step verification. Each code works once.</p>
${notice(v.notice)}
<form method="post" action="${PATHS.loginRecovery}">
${csrfField(v.csrf)}
${codeField('Recovery code', '(for example 4f7k-2m9q-…)', 'off')}
<button class="btn" type="submit">Sign in</button>
</form>
<p class="links"><a href="${PATHS.loginTotp}">Use your authenticator app instead</a> · <a href="${loginHref(v.rd)}">Start over</a></p>`,
  };
}

/** The secret in groups of four, easier to type. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?!$)/g, '$1 ');
}

export function enrolPage(v: EnrolView): PageOptions {
  return {
    title: 'Set up two-step verification',
    siteName: v.siteName,
    body: html`<h1>Set up two-step verification</h1>
<p class="lead">${v.siteName} asks for a code from an authenticator app each time you sign in with your password.</p>
${notice(v.notice)}
<ol class="steps">
<li>Install an authenticator app on your phone, such as Microsoft Authenticator, Google Authenticator or 1Password.</li>
<li>In the app, add an account and scan this QR code.</li>
</ol>
<div class="qr"><img src="${v.qrDataUri}" width="200" height="200" alt="QR code to add ${v.account} to your authenticator app"></div>
<p>Cannot scan it? Enter this key in the app instead (time-based, 6 digits):</p>
<div class="copy"><code class="secret" id="totp-secret">${grouped(v.secret)}</code><button class="btn secondary inline" type="button" data-copy="totp-secret">Copy</button></div>
<form method="post" action="${PATHS.loginEnroll}">
${csrfField(v.csrf)}
${codeField('Enter the code the app shows', '(6 digits)', 'one-time-code')}
<button class="btn" type="submit">Turn on two-step verification</button>
</form>
<p class="links"><a href="${loginHref(v.rd)}">Start over</a></p>`,
  };
}

/** Shown once, right after enrolment; the session has already started. */
export function recoveryCodesPage(v: { siteName: string; rd: string; codes: readonly string[] }): PageOptions {
  return {
    title: 'Save your recovery codes',
    siteName: v.siteName,
    body: html`<h1>Save your recovery codes</h1>
<p class="lead">Two-step verification is on. If you lose your phone, sign in with one of these codes instead of an authenticator code.</p>
<div class="alert warn" role="status">This is the only time these codes are shown. Print them or keep them in a password manager. Each code works once.</div>
<ol class="codes" id="recovery-codes" aria-label="Recovery codes">${v.codes.map((c) => html`<li>${c}</li>`)}</ol>
<button class="btn secondary" type="button" data-copy="recovery-codes">Copy</button>
<a class="btn" href="${v.rd}">Continue</a>`,
  };
}

/** "Try again in 15 minutes (at 14:32 UTC)". */
export function retryText(until: number, now: number): string {
  const minutes = Math.max(1, Math.ceil((until - now) / 60_000));
  const at = new Date(until).toISOString().slice(11, 16);
  return `Try again in ${minutes} minute${minutes === 1 ? '' : 's'} (at ${at} UTC).`;
}
