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
