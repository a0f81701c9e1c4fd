/**
 * The configuration schema: the single source of the config's types and defaults.
 * `loadConfig` (load.ts) parses YAML, validates it with this schema, resolves
 * secret references, runs the cross-field checks and freezes the result.
 *
 * Secret fields accept `${ENV_VAR}`, `file:/path/to/file` (relative to the config
 * file) or, discouraged and warned about, an inline value.
 */
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';
import { certificateCredential, CertificateError } from '../util/certificate.ts';
import { GUID } from '../util/security.ts';

const port = z.number().int().min(0).max(65535);
const seconds = (def: number, min = 1) => z.number().int().min(min).default(def);
const ms = (def: number, min = 1) => z.number().int().min(min).default(def);

/** a trusted-proxy entry proxy-addr (Fastify's, and the fast lane's) reads: an address, a CIDR or a named range */
function readsAsTrust(entry: string): boolean {
  try {
    proxyAddr.compile(entry);
    return true;
  } catch {
    return false;
  }
}

/** A secret: `${ENV}`, `file:path`, or inline text. Resolved by the loader. */
export const secret = z.string().min(1, 'must not be empty');

export const tenantId = z.string().regex(GUID, 'must be a tenant ID (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47)');

/** host names: lower-case letters, digits, hyphens and dots; `*.` only as the first label. */
// eslint-disable-next-line security/detect-unsafe-regex -- anchored; labels split by '.', which no label class contains, each at most 63 characters: linear
const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const hostPattern = z
  .string()
  // overwrite + regex: checks of the string schema, cheaper than a transform pipe (20,000 hosts at start-up)
  .overwrite((h) => h.trim().toLowerCase().replace(/\.$/, ''))
  .regex(HOST, 'must be a host name such as "support.acme.com" or a wildcard such as "*.support.example.com" (no scheme, port or path)');

const upstreamUrl = z.string().refine(
  (u) => {
    try {
      const url = new URL(u);
      return (
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.username === '' &&
        url.password === '' &&
        url.pathname === '/' &&
        url.search === '' &&
        url.hash === ''
      );
    } catch {
      return false;
    }
  },
  // the proxy forwards the normalised path as is: a base path would be lost (WebSockets) or refused
  { message: 'must be an http:// or https:// origin such as "http://10.0.0.5:3000" (no path, credentials, query or fragment)' },
);

/** A public path: `/assets/` (prefix, ends with a slash) or `/health` (exact). */
const publicPath = z
  .string()
  .refine((p) => p.startsWith('/') && !p.includes('?') && !p.includes('#') && !/(^|\/)\.\.?(\/|$)/.test(p) && !p.includes('//') && !p.includes('%'), {
    message: 'must be a normalised absolute path like "/assets/" (prefix) or "/health" (exact), without query, fragment, "..", "//" or %-escapes',
  })
  .refine((p) => !p.toLowerCase().startsWith('/.auth'), { message: 'must not be under /.auth/ (reserved for the gateway)' });

const timeouts = z
  .object({
    /** time to connect to the upstream */
    connectMs: ms(5_000),
    /** time to receive the upstream's response headers after the request was sent, and the longest stall between body chunks */
    responseMs: ms(30_000),
  })
  .strict()
  .prefault({});

/**
 * Paths an upstream could read differently from the gateway (src/routing/path.ts): a
 * double-encoded escape (`%252e`) or a character that Unicode compatibility normalisation
 * turns into ".", "/", "\\" or "%" (`%EF%BC%8E`). Refused (400) unless the site allows them.
 */
const ambiguousPaths = z
  .enum(['refuse', 'allow'], {
    error:
      'must be "refuse" (the default: paths with a double-encoded escape such as "%252e", or a character that Unicode compatibility normalisation turns into ".", "/", "\\" or "%", are answered 400) ' +
      'or "allow" (forwarded as received: only for an upstream that decodes a path once and never applies Unicode normalisation)',
  })
  .default('refuse');

const siteCommon = {
  upstream: upstreamUrl,
  ambiguousPaths,
  /** the `aud` of the identity JWT sent to this site's upstream */
  audience: z.string().min(1).optional(),
  publicPaths: z.array(publicPath).default([]),
  timeouts,
};

/** an ISO date (2027-06-30) or date-time: when a credential expires, as Azure shows it */
const expiryDate = z.union([z.string(), z.date()]).transform((v, ctx) => {
  const ms = v instanceof Date ? v.getTime() : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T23:59:59Z` : v);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be a date such as 2027-06-30 (the "Expires" column under Certificates & secrets in Azure)' });
    return z.NEVER;
  }
  return ms;
});

/** a certificate credential: the certificate (PEM) and its private key (PEM, a secret: file: or env) */
const entraCertificate = z
  .object({
    certificate: z.string().min(1, 'must be the certificate (PEM), e.g. file:/etc/regentra/portal-entra.crt'),
    privateKey: secret,
  })
  .strict()
  .superRefine((c, ctx) => {
    try {
      certificateCredential(c.certificate, c.privateKey);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      ctx.addIssue({
        code: 'custom',
        path: [err.code === 'CERT_KEY_MISMATCH' || err.code === 'CERT_KEY_UNREADABLE' ? 'privateKey' : 'certificate'],
        message: `${err.message} (${err.code}); generate a pair with: regentra-gateway entra generate-certificate --out DIR`,
      });
    }
  });

const entraApp = z
  .object({
    clientId: z.string().min(1),
    /** a client secret, or (and, during a rotation) certificate(s) */
    clientSecret: secret.optional(),
    /** when the client secret expires: the gateway warns before (docs/operations.md) */
    clientSecretExpires: expiryDate.optional(),
    certificate: z.union([entraCertificate, z.array(entraCertificate).min(1).max(4)]).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.clientSecret === undefined && a.certificate === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs a credential: clientSecret, or certificate { certificate, privateKey } (Microsoft recommends certificates)',
      });
    }
    if (a.clientSecretExpires !== undefined && a.clientSecret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['clientSecretExpires'], message: 'is the expiry of clientSecret, which is not set' });
    }
  });

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, one optional group with a bounded quantifier: linear
const CLIENT_ID = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export const portalClientSchema = z
  .object({
    id: z.string().regex(CLIENT_ID, 'must be a short id of lower-case letters, digits and hyphens (e.g. "acme")'),
    name: z.string().min(1),
    hosts: z.array(hostPattern).min(1, 'a client needs at least one host'),
    /** overrides the portal's upstream for this client */
    upstream: upstreamUrl.optional(),
    /**
     * Password sign-in always requires TOTP ("Users who sign in via email/password (non-SSO)
     * still use Regentra's built-in MFA"): `true` is accepted for older configs, `false` refused.
     */
    mfaRequired: z
      .literal(true, {
        error:
          'password sign-in always requires two-step verification (TOTP), on every portal: remove "mfaRequired: false" (Microsoft sign-in leaves MFA to Entra)',
      })
      .optional(),
    /** the client's verified domain, sent as `domain_hint` so Microsoft goes straight to their sign-in */
    domainHint: z
      .string()
      .overwrite((d) => d.trim().toLowerCase())
      .regex(
        // eslint-disable-next-line security/detect-unsafe-regex -- anchored, at most 253 characters; labels end at '.', which no label class contains: linear
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        'must be a domain name such as "acme.com" (the client’s verified domain in Entra)',
      )
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        /** the scheme people use to reach the gateway (https behind a TLS-terminating load balancer) */
        publicScheme: z.enum(['http', 'https']).default('https'),
        /** the port people use, when not the scheme's default (e.g. 8080 in the demo) */
        publicPort: port.optional(),
        /** addresses or CIDRs whose X-Forwarded-* headers are believed */
        trustedProxies: z
          .array(
            z.string().refine((entry) => readsAsTrust(entry), {
              message: 'must be an IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal',
            }),
          )
          .default([]),
        /** time allowed to receive a request's headers (slowloris guard) */
        headersTimeoutMs: ms(10_000),
        /** time allowed for a whole request body (0 = no limit; large uploads) */
        requestTimeoutMs: ms(0, 0),
        keepAliveTimeoutMs: ms(72_000),
        maxHeaderBytes: z.number().int().min(4096).max(1_048_576).default(16_384),
        /** body limit for the gateway's own forms; proxied bodies are streamed and not limited */
        formBodyLimitBytes: z.number().int().min(1024).default(65_536),
        shutdownGraceMs: ms(15_000),
        /** processes serving requests (node:cluster, one per core; they share the keys and the store); 1 = this process */
        workers: z.number().int().min(1).max(256).default(1),
      })
      .strict()
      .prefault({}),
    ops: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: port.default(9090),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    /** where the SQLite database and other local state live */
    dataDir: z.string().default('./data'),
    store: z
      .discriminatedUnion('driver', [
        z.object({ driver: z.literal('sqlite'), path: z.string().optional() }).strict(),
        z
          .object({
            driver: z.literal('postgres'),
            url: secret,
            schema: z
              .string()
              .regex(/^[a-z_][a-z0-9_]*$/)
              .optional(),
            pool: z
              .object({
                max: z.number().int().min(1).max(500).default(10),
                idleTimeoutMillis: ms(30_000),
                connectionTimeoutMillis: ms(5_000),
                statementTimeoutMillis: ms(10_000),
              })
              .strict()
              .prefault({}),
          })
          .strict(),
      ])
      .default({ driver: 'sqlite' }),
    keys: z
      .object({
        /** session cookie keys, 32 bytes base64 each; the first seals, all open */
        session: z.array(secret).min(1, 'at least one session key is required (generate one with `regentra-gateway keys generate`)'),
        /** identity-header signing keys (PKCS#8 PEM); the first signs, all are published at /.auth/jwks.json */
        signing: z
          .array(
            z
              .object({
                kid: z.string().min(1).optional(),
                alg: z.enum(['ES256', 'EdDSA']).default('ES256'),
                privateKey: secret,
              })
              .strict(),
          )
          .min(1, 'at least one signing key is required'),
        /** encryption-at-rest keys for TOTP and SSO secrets, 32 bytes base64 each; the first seals */
        encryption: z
          .array(z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/), key: secret }).strict())
          .min(1, 'at least one encryption key is required'),
      })
      .strict(),
    session: z
      .object({
        /** cookie name; `__Host-` is prefixed when cookies are Secure */
        cookieName: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .default('regentra_session'),
        /** Secure cookies; turn off only for local http (the demo) */
        secure: z.boolean().default(true),
        idleTimeoutSeconds: seconds(30 * 60, 60),
        absoluteLifetimeSeconds: seconds(12 * 3600, 60),
        /** how long a revocation (disable, sign out everywhere) may take to reach every replica */
        revocationCheckSeconds: seconds(5).pipe(z.number().max(10, 'must be at most 10 seconds')),
      })
      .strict()
      .prefault({}),
    identity: z
      .object({
        /** `iss` of the identity JWT */
        issuer: z.string().min(1).default('regentra-gateway'),
        ttlSeconds: seconds(60, 10).pipe(z.number().max(3600)),
      })
      .strict()
      .prefault({}),
    entra: z
      .object({
        authorityHost: z.string().url().default('https://login.microsoftonline.com'),
        /** Microsoft Graph of the authority's cloud (the pair is checked: src/auth/entra/cloud.ts) */
        graphUrl: z.string().url().default('https://graph.microsoft.com'),
        /** dev only (with allowInsecure): the Graph resource a local stand-in plays, when not its graphUrl */
        graphResource: z.string().url().optional(),
        timeoutMs: ms(5_000),
        /** dev only: allow an http:// authority and an authority / Graph pair of no Microsoft cloud (the local Entra stand-in) */
        allowInsecure: z.boolean().default(false),
        /**
         * `prompt` on sign-in: `select_account` (default: Microsoft shows the account picker, so a
         * browser signed in to another organisation is not silently used), `login` (always ask
         * for the password), `none` (send no prompt: Microsoft reuses its session silently)
         */
        prompt: z.enum(['select_account', 'login', 'none'], { error: 'must be select_account, login or none' }).default('select_account'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        lockout: z
          .object({
            maxFailures: z.number().int().min(1).default(5),
            windowSeconds: seconds(600),
            lockSeconds: seconds(900),
          })
          .strict()
          .prefault({}),
        ipThrottle: z
          .object({
            maxFailures: z.number().int().min(1).default(30),
            windowSeconds: seconds(600),
          })
          .strict()
          .prefault({}),
        password: z
          .object({
            minLength: z.number().int().min(8).max(128).default(12),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    sites: z
      .object({
        staff: z
          .object({
            ...siteCommon,
            hosts: z.array(hostPattern).min(1, 'the staff site needs at least one host'),
          })
          .strict(),
        portal: z
          .object({
            ...siteCommon,
            /** Regentra's multi-tenant Entra app used by every client's portal */
            entra: entraApp.optional(),
            /** one host that receives every portal OIDC callback and hands users to the client's host */
            centralCallbackHost: hostPattern.optional(),
            clients: z.array(portalClientSchema).default([]),
          })
          .strict()
          .optional(),
      })
      .strict(),
  })
  .strict();

/** The raw (pre-resolution) input shape, as written in YAML. */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration, secrets resolved, deeply frozen. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;
export type PortalClientConfig = Config['sites']['portal'] extends infer P ? (P extends { clients: readonly (infer C)[] } ? C : never) : never;

export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
