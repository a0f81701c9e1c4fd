/**
 * The error catalogue. Every error the gateway raises on purpose is a GatewayError
 * with a stable `code`; pages and JSON bodies are built from the code, never from
 * free text, so nothing internal leaks to a client.
 */

export interface ErrorSpec {
  readonly status: number;
  /** the title shown to people */
  readonly title: string;
  /** the plain-language explanation shown to people and returned to API clients */
  readonly message: string;
}

export const ERRORS = Object.freeze({
  BAD_REQUEST: { status: 400, title: 'Bad request', message: 'The request could not be understood.' },
  BAD_PATH: { status: 400, title: 'Bad request', message: 'The address contains characters or segments that are not allowed.' },
  UNAUTHENTICATED: { status: 401, title: 'Sign-in required', message: 'You need to sign in to continue.' },
  FORBIDDEN: { status: 403, title: 'Access denied', message: 'You do not have access to this page.' },
  CSRF: { status: 403, title: 'Form expired', message: 'This form has expired or was not sent from this site. Go back, reload the page and try again.' },
  NOT_FOUND: { status: 404, title: 'Not found', message: 'There is nothing at this address.' },
  UNKNOWN_HOST: { status: 421, title: 'Unknown site', message: 'This gateway does not serve this host name. Check the address.' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Too large', message: 'The request is too large.' },
  RATE_LIMITED: { status: 429, title: 'Too many attempts', message: 'Too many attempts. Wait a moment and try again.' },
  INTERNAL: {
    status: 500,
    title: 'Something went wrong',
    message: 'Something went wrong on our side. Try again; if it keeps happening, contact support with the reference below.',
  },
  UPSTREAM_DOWN: { status: 502, title: 'Application unavailable', message: 'The application behind this gateway is not responding. Try again in a moment.' },
  STORE_UNAVAILABLE: {
    status: 503,
    title: 'Sign-in unavailable',
    message: 'Sign-in is temporarily unavailable. People already signed in are not affected. Try again in a moment.',
  },
  PASSWORD_OFF: {
    status: 409,
    title: 'Password sign-in is turned off',
    message:
      'This site accepts Microsoft sign-in only, so there is no password to set or use. Sign in with your Microsoft work account, or ask your administrator to link it to your account.',
  },
  IDP_UNAVAILABLE: { status: 503, title: 'Microsoft sign-in unavailable', message: 'We could not reach Microsoft to sign you in. Try again in a moment.' },
  UPSTREAM_TIMEOUT: {
    status: 504,
    title: 'Application timed out',
    message: 'The application behind this gateway took too long to answer. Try again in a moment.',
  },
} satisfies Record<string, ErrorSpec>);

export type ErrorCode = keyof typeof ERRORS;

/** A refused Microsoft sign-in: its page, built on a catalogue entry above (`base`: the JSON `error`). */
export interface EntraErrorSpec {
  readonly status: number;
  /** the catalogue entry the page is built on (src/errors.ts) */
  readonly base: ErrorCode;
  readonly title: string;
  readonly message: string;
}

/**
 * Why a Microsoft (Entra ID) sign-in was refused: the codes of EntraError
 * (src/auth/entra/errors.ts), in the same catalogue as every other error.
 */
export const ENTRA_ERRORS = Object.freeze({
  SSO_DISABLED: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Microsoft sign-in is not available',
    message: 'Sign-in with Microsoft is not turned on for this site. Use another way to sign in, or ask your administrator.',
  },
  SSO_FLOW_MISSING: {
    status: 400,
    base: 'BAD_REQUEST',
    title: 'Sign-in expired',
    message: 'This sign-in has expired or was started in another browser. Start again from the sign-in page.',
  },
  SSO_STATE_MISMATCH: {
    status: 400,
    base: 'BAD_REQUEST',
    title: 'Sign-in could not be completed',
    message: 'This answer from Microsoft does not belong to the sign-in started in this browser. Start again from the sign-in page.',
  },
  SSO_REPLAYED: {
    status: 400,
    base: 'BAD_REQUEST',
    title: 'Sign-in already used',
    message: 'This sign-in answer has already been used. Start again from the sign-in page.',
  },
  SSO_BAD_CALLBACK: {
    status: 400,
    base: 'BAD_REQUEST',
    title: 'Sign-in could not be completed',
    message: 'The answer from Microsoft was incomplete. Start again from the sign-in page.',
  },
  SSO_TOKEN_INVALID: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Sign-in could not be verified',
    message:
      "Microsoft's answer could not be verified, so you were not signed in. Start again; if it keeps happening, contact support with the reference below.",
  },
  SSO_WRONG_TENANT: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Wrong organisation',
    message:
      "Your account belongs to another organisation's directory, not the one this site signs in with. Sign out of Microsoft and sign in with your account from this organisation.",
  },
  // the same words whether or not an account holds the email the token names: the page is no oracle
  SSO_PERSONAL_ACCOUNT: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Personal Microsoft account',
    message:
      'You signed in with a personal Microsoft account (such as Outlook.com or Hotmail). This site accepts only work or school accounts of your organisation: sign out of Microsoft and sign in with your work account.',
  },
  SSO_NOT_PROVISIONED: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Microsoft account not linked',
    message: 'Your Microsoft account is not linked to a Regentra account yet. Ask your admin for access: they can link your Microsoft account or add you.',
  },
  SSO_NOT_LINKED: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Microsoft account not linked',
    message: 'Your Microsoft account is not linked to a Regentra account yet. Ask your admin for access: they can link your Microsoft account or add you.',
  },
  SSO_USER_DISABLED: { status: 403, base: 'FORBIDDEN', title: 'Account disabled', message: 'Your account has been disabled. Contact your administrator.' },
  SSO_ACCOUNT_CONFLICT: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Account already linked',
    message: 'An account with your email address is already linked to a different Microsoft account. Ask your admin for help.',
  },
  SSO_GRAPH_DENIED: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Microsoft sign-in is not set up correctly',
    message: 'Microsoft did not let Regentra read your profile, so you could not be signed in. Your administrator needs to fix the app’s permissions.',
  },
  SSO_NO_EMAIL: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'No email address',
    message: 'Microsoft did not tell us your email address, so an account cannot be set up. Ask your admin for help.',
  },
  SSO_GROUPS_OVERAGE: {
    status: 403,
    base: 'FORBIDDEN',
    title: 'Your role could not be determined',
    message:
      'You are a member of too many groups for Microsoft to list them in the sign-in, so Regentra cannot tell whether you are an admin and did not sign you in. Your administrator needs to base Regentra roles on app roles (Settings → Single Sign-On → Roles from Microsoft Entra), or send only the groups assigned to the application (app registration → Token configuration).',
  },
  SSO_IDP_ERROR: { status: 400, base: 'BAD_REQUEST', title: 'Microsoft could not sign you in', message: 'Microsoft could not sign you in.' },
  IDP_UNAVAILABLE: {
    status: 503,
    base: 'IDP_UNAVAILABLE',
    title: 'Microsoft sign-in unavailable',
    message: 'We could not reach Microsoft to sign you in. Try again in a moment. People already signed in are not affected.',
  },
  SSO_MISCONFIGURED: {
    status: 503,
    base: 'IDP_UNAVAILABLE',
    title: 'Microsoft sign-in unavailable',
    message: 'Sign-in with Microsoft is not set up correctly. Your administrator needs to fix it.',
  },
  SSO_TICKET_INVALID: {
    status: 400,
    base: 'BAD_REQUEST',
    title: 'Sign-in link not valid',
    message: 'This sign-in link is not valid here, has expired or was already used. Start again from the sign-in page.',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    base: 'STORE_UNAVAILABLE',
    title: 'Sign-in unavailable',
    message: 'Sign-in is temporarily unavailable. People already signed in are not affected. Try again in a moment.',
  },
} satisfies Record<string, EntraErrorSpec>);

/**
 * What every coded error of the gateway shares: a stable `code` callers switch on (never
 * the message), a message for people or logs, and the class name in `name`.
 */
export class CodedError<C extends string> extends Error {
  readonly code: C;
  constructor(name: string, code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
    this.code = code;
  }
}

/** How a GatewayError is shown, beyond its catalogue entry (the error handler reads it). */
export interface ErrorPresentation {
  /** a page whatever the request's Accept says (a form a browser posted) */
  readonly html?: boolean;
  /** response headers (e.g. Retry-After) */
  readonly headers?: Readonly<Record<string, string>>;
  /** a button on the page to go on from here (same-site path) */
  readonly next?: { readonly href: string; readonly label: string };
  /** for a browser's page request: redirect here (303) instead of showing the page (e.g. to sign in) */
  readonly redirectPage?: string;
}

/**
 * An error raised on purpose, with a catalogue code: thrown anywhere (a service, a hook, a
 * route), rendered by the app's error handler as a page or JSON from the code. Nothing
 * else answers for it: no helper replies and returns a sentinel.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** extra, safe-to-show detail (never a secret) */
  readonly detail: string | undefined;
  readonly presentation: ErrorPresentation;
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; presentation?: ErrorPresentation }) {
    super(detail ? `${ERRORS[code].message} (${detail})` : ERRORS[code].message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
    this.presentation = options?.presentation ?? {};
  }
}

export interface ConfigIssue {
  /** dotted path into the config, e.g. `sites.portal.clients[3].hosts[0]` */
  readonly path: string;
  readonly message: string;
}

/** Invalid configuration: carries every problem found, not just the first. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], source?: string) {
    const head = `invalid configuration${source ? ` in ${source}` : ''} (${issues.length} problem${issues.length === 1 ? '' : 's'})`;
    super([head, ...issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`)].join('\n'));
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }
}
