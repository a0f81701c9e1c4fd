/**
 * Audit events in words, for the audit log page and its CSV export: "Turned SSO on",
 * "Locked out after 5 failed codes", "Signed in with Microsoft", "Linked a Microsoft
 * account". An event type this file does not know is shown as its type.
 */
import type { StoredAuditEvent } from '../store/types.ts';

/** the event types the filter offers, with their names */
export const EVENT_TYPES: ReadonlyArray<readonly [string, string]> = Object.freeze([
  ['signin', 'Sign-ins'],
  ['signin.failure', 'Failed sign-ins'],
  ['lockout', 'Lockouts'],
  ['signout', 'Sign-outs'],
  ['signout.others', 'Signed out other sessions'],
  ['settings.change', 'Settings changes'],
  ['sso.test', 'SSO connection tests'],
  ['portal.consent', 'Admin consent'],
  ['user.create', 'Accounts added'],
  ['user.setup-link', 'Set-up links made'],
  ['user.setup', 'Set-up links used'],
  ['user.password.reset', 'Password changes and resets'],
  ['user.role', 'Role changes'],
  ['user.disable', 'Accounts disabled'],
  ['user.enable', 'Accounts enabled'],
  ['user.unlock', 'Accounts unlocked'],
  ['user.mfa.reset', 'Two-step verification resets'],
  ['user.signout-everywhere', 'Signed out everywhere'],
  ['user.link', 'Microsoft accounts linked'],
  ['user.unlink', 'Microsoft accounts unlinked'],
  ['mfa.enroll', 'Authenticators set up'],
  ['mfa.replace', 'Authenticators replaced'],
  ['mfa.recovery-codes', 'New recovery codes'],
]);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

const SSO_ACTIONS: Readonly<Record<string, string>> = Object.freeze({
  enabled: 'Turned SSO on',
  enable: 'Turned SSO on',
  disabled: 'Turned SSO off',
  disable: 'Turned SSO off',
  'sso-only-on': 'Turned SSO-only on',
  'sso-only-off': 'Turned SSO-only off',
  'auto-provision-on': 'Turned auto-provisioning on',
  'auto-provision-off': 'Turned auto-provisioning off',
  'auto-link-on': 'Turned linking by verified email on',
  'auto-link-off': 'Turned linking by verified email off',
  saved: 'Saved the SSO settings',
  save: 'Saved the SSO settings',
  'saved-tested': 'Saved tested SSO settings',
  'save-tested': 'Saved tested SSO settings',
  tested: 'SSO settings passed Test Connection',
});

const FAILURE_REASONS: Readonly<Record<string, string>> = Object.freeze({
  wrong_password: 'wrong password',
  unknown_email: 'unknown email',
  disabled: 'the account is disabled',
  bad_code: 'wrong code',
  replayed: 'a code used before',
  bad_recovery_code: 'wrong recovery code',
  account_page_wrong_password: 'wrong current password on the account page',
  account_page_bad_code: 'wrong code on the account page',
});

const STEP_NOUN: Readonly<Record<string, string>> = Object.freeze({ password: 'passwords', totp: 'codes', enroll: 'codes', recovery: 'recovery codes' });

const USER_EVENTS: Readonly<Record<string, string>> = Object.freeze({
  'user.create': 'Added an account',
  'user.setup-link': 'Made a set-up link',
  'user.setup': 'Set a password with a set-up link',
  'user.disable': 'Disabled the account',
  'user.enable': 'Enabled the account',
  'user.unlock': 'Unlocked the account',
  'user.mfa.reset': 'Reset two-step verification',
  'user.signout-everywhere': 'Signed the account out everywhere',
  'user.link': 'Linked a Microsoft account',
  'user.unlink': 'Unlinked the Microsoft account',
  'mfa.enroll': 'Set up two-step verification',
  'mfa.replace': 'Set up a new authenticator',
  'mfa.recovery-codes': 'Made new recovery codes',
  signout: 'Signed out',
  'signin.handoff': 'Handed over to the client’s portal host',
});

/** One event in words (without who: the page shows the actor and the account beside it). */
export function describeEvent(e: StoredAuditEvent, lockoutMax: number): string {
  const d = e.details;
  const failed = e.outcome === 'failure';
  switch (e.type) {
    case 'signin': {
      if (d.method === 'sso') return 'Signed in with Microsoft';
      const amr = Array.isArray(d.amr) ? d.amr : [];
      if (amr.includes('rcv')) return 'Signed in with a password and a recovery code';
      return amr.includes('otp') ? 'Signed in with a password and a code' : 'Signed in with a password';
    }
    case 'signin.failure': {
      if (d.method === 'sso') return `Microsoft sign-in refused${str(d.code) ? ` (${str(d.code)})` : ''}`;
      const reason = str(d.reason);
      return `Sign-in failed: ${(reason && FAILURE_REASONS[reason]) ?? reason ?? 'refused'}`;
    }
    case 'lockout': {
      const noun = STEP_NOUN[str(d.step) ?? ''] ?? 'attempts';
      return `Locked out after ${lockoutMax} failed ${noun}${d.unknownAccount === true ? ' (an email with no account)' : ''}`;
    }
    case 'signout.others':
      return `Signed out their other sessions${typeof d.count === 'number' ? ` (${d.count})` : ''}`;
    case 'settings.change': {
      const action = str(d.action);
      if (str(d.setting)?.startsWith('portal.auth.'))
        return `${failed ? 'Refused a change to' : 'Changed'} the portal authentication of ${str(d.client) ?? 'a client'}`;
      const words = (action && SSO_ACTIONS[action]) ?? 'Changed the SSO settings';
      return failed ? `Refused: ${words.charAt(0).toLowerCase()}${words.slice(1)}` : words;
    }
    case 'sso.test':
      return failed ? 'SSO Test Connection failed' : 'Ran SSO Test Connection';
    case 'portal.consent':
      return failed ? 'Admin consent was not recorded' : 'Recorded admin consent';
    case 'user.password.reset':
      return e.actor !== null && e.actor === e.userId ? 'Changed their password' : 'Reset the password';
    case 'user.role':
      return `Changed the role${str(d.from) && str(d.to) ? ` from ${str(d.from)} to ${str(d.to)}` : ''}`;
    default: {
      const words = USER_EVENTS[e.type];
      if (!words) return e.type;
      return failed ? `Refused: ${words.charAt(0).toLowerCase()}${words.slice(1)}` : words;
    }
  }
}
