// Client assertions (`private_key_jwt`, certificate credentials) at the token endpoint,
// checked as Entra documents them ("Microsoft identity platform application authentication
// certificate credentials"): an RS256/PS256 JWT whose header names an uploaded certificate by
// `x5t#S256` (or `x5t`), with iss = sub = client_id, aud = the tenant's token endpoint, a
// current exp/nbf and a jti, signed with the certificate's key; a jti is accepted once.
// A good assertion is swapped for the app's secret so oidc-provider handles the grant as
// usual; a bad one gets Entra's AADSTS answer (700027, 700024, 700021, 700023, 50013).
import { constants, createHash, verify, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AAD, tokenErrorBody, type AadError } from './errors.ts';
import { readForm, sendJson } from './http.ts';
import { recordTokenRequest } from './shaping.ts';
import { appStatus, type FakeApp, type Runtime, type TenantRuntime } from './types.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Entra's tolerance for clock skew on assertion times */
const SKEW_S = 300;

/** token requests whose client authenticated with an assertion (for the recorded clientAuth) */
export const assertedRequests = new WeakSet<IncomingMessage>();
const seenJti = new WeakMap<Runtime, Map<string, number>>();
/** certificates uploaded while running, per app (lower-cased client id); app objects may be frozen */
const uploads = new WeakMap<Runtime, Map<string, string[]>>();

function certificatesOf(rt: Runtime, app: FakeApp): string[] {
  const key = app.clientId.toLowerCase();
  let perApp = uploads.get(rt);
  if (!perApp) uploads.set(rt, (perApp = new Map()));
  if (!perApp.has(key)) perApp.set(key, [...(app.certificates ?? [])]);
  return perApp.get(key) as string[];
}

const aad = (status: number, error: string, code: number, message: string): AadError => ({ status, error, code, message });

const keysOfApp = (clientId: string) =>
  `Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.`;

export const ASSERTION_ERRORS = {
  keyNotFound: (clientId: string, thumbprint: string) =>
    aad(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', ${keysOfApp(clientId)}]`,
    ),
  keyExpired: (clientId: string, thumbprint: string) =>
    aad(
      401,
      'invalid_client',
      700027,
      `Client assertion failed signature validation. [Reason - The key used is expired., Thumbprint of key used by client: '${thumbprint}', ${keysOfApp(clientId)}]`,
    ),
  badSignature: (clientId: string, thumbprint: string) =>
    aad(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${thumbprint}', ${keysOfApp(clientId)}]`,
    ),
  timeRange: (now: number, nbf: number | undefined, exp: number | undefined) =>
    aad(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${nbf === undefined ? 'unspecified' : iso(nbf)}, expiry time of assertion ${exp === undefined ? 'unspecified' : iso(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    ),
  wrongIssuer: () =>
    aad(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
    ),
  wrongAudience: (aud: unknown) =>
    aad(
      401,
      'invalid_client',
      700023,
      `Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials . (audience: '${String(aud)}')`,
    ),
  // Microsoft documents no specific code for a reused jti; 50013 is its "assertion is invalid" code
  replayed: () => aad(401, 'invalid_client', 50013, 'Assertion is invalid. [Reason - The assertion (jti) was already used.]'),
  malformed: (why: string) => aad(401, 'invalid_client', 50013, `Assertion is invalid. [Reason - ${why}]`),
  bothCredentials: () => aad(400, 'invalid_request', 90014, "The request is invalid: only one of 'client_secret' or 'client_assertion' may be sent."),
  assertionType: () =>
    aad(
      400,
      'invalid_request',
      90014,
      "The request body must contain the following parameter: 'client_assertion_type' with the value 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
    ),
};

function iso(s: number): string {
  return new Date(s * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function decode(part: string | undefined): Record<string, unknown> | null {
  if (!part) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

interface Registered {
  readonly x509: X509Certificate;
  readonly sha1: string; // hex, upper case (Azure's thumbprint)
  readonly x5t: string; // base64url SHA-1
  readonly x5tS256: string;
}

function registered(rt: Runtime, app: FakeApp): Registered[] {
  return certificatesOf(rt, app).map((pem) => {
    const x509 = new X509Certificate(pem);
    return {
      x509,
      sha1: x509.fingerprint.replace(/:/g, ''),
      x5t: createHash('sha1').update(x509.raw).digest('base64url'),
      x5tS256: createHash('sha256').update(x509.raw).digest('base64url'),
    };
  });
}

/** Check a client assertion; null when good (the app is then authenticated). */
function check(rt: Runtime, tenant: TenantRuntime, app: FakeApp, clientId: string, assertion: string): AadError | null {
  const parts = assertion.split('.');
  const header = decode(parts[0]);
  const claims = decode(parts[1]);
  if (parts.length !== 3 || !header || !claims) return ASSERTION_ERRORS.malformed('The client assertion is not a signed JWT.');
  const s256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : null;
  const s1 = typeof header.x5t === 'string' ? header.x5t : null;
  const given = s256 ?? (s1 ? Buffer.from(s1, 'base64url').toString('hex').toUpperCase() : 'none');
  const cert = registered(rt, app).find((c) => (s256 !== null && c.x5tS256 === s256) || (s1 !== null && c.x5t === s1));
  if (!cert) return ASSERTION_ERRORS.keyNotFound(clientId, given);
  const now = Math.floor(Date.now() / 1000);
  if (Date.parse(cert.x509.validTo) < Date.now() || Date.parse(cert.x509.validFrom) > Date.now()) return ASSERTION_ERRORS.keyExpired(clientId, cert.sha1);
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') return ASSERTION_ERRORS.badSignature(clientId, cert.sha1);
  const signature = Buffer.from(parts[2] as string, 'base64url');
  const input = Buffer.from(`${parts[0]}.${parts[1]}`);
  const key = alg === 'PS256' ? { key: cert.x509.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : cert.x509.publicKey;
  if (!verify('sha256', input, key, signature)) return ASSERTION_ERRORS.badSignature(clientId, cert.sha1);
  if (claims.iss !== clientId || claims.sub !== clientId) return ASSERTION_ERRORS.wrongIssuer();
  const tokenEndpoint = `${rt.url}/${tenant.id}/oauth2/v2.0/token`;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((a) => typeof a === 'string' && a.toLowerCase() === tokenEndpoint.toLowerCase())) return ASSERTION_ERRORS.wrongAudience(claims.aud);
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
  if (exp === undefined || exp + SKEW_S < now || (nbf !== undefined && nbf - SKEW_S > now)) return ASSERTION_ERRORS.timeRange(now, nbf, exp);
  if (typeof claims.jti !== 'string' || !claims.jti) return ASSERTION_ERRORS.malformed("The 'jti' claim is missing.");
  let seen = seenJti.get(rt);
  if (!seen) seenJti.set(rt, (seen = new Map()));
  for (const [jti, until] of seen) if (until < now) seen.delete(jti);
  const jtiKey = `${clientId}|${claims.jti}`;
  if (seen.has(jtiKey)) return ASSERTION_ERRORS.replayed();
  seen.set(jtiKey, exp + SKEW_S);
  return null;
}

/**
 * A token request with a client assertion: answered here when the assertion is refused
 * (true), else rewritten to authenticate with the app's secret for oidc-provider (false).
 * Requests without an assertion pass untouched (false) — their body is then not read.
 */
export async function handleClientAssertion(rt: Runtime, tenant: TenantRuntime, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return false;
  const body = await readForm(req);
  const withBody = req as IncomingMessage & { body?: Record<string, string> };
  withBody.body = body;
  if (body.client_assertion === undefined && body.client_assertion_type === undefined) return false;
  assertedRequests.add(req);
  const refuse = (e: AadError) => {
    rt.tokenRequests.push({ ...recordTokenRequest(tenant.id, body, undefined), clientAuth: 'private_key_jwt' });
    sendJson(res, e.status, tokenErrorBody(e));
    return true;
  };
  if (body.client_assertion_type !== JWT_BEARER || !body.client_assertion) return refuse(ASSERTION_ERRORS.assertionType());
  if (body.client_secret !== undefined || req.headers.authorization) return refuse(ASSERTION_ERRORS.bothCredentials());
  const clientId = body.client_id ?? (decode(body.client_assertion.split('.')[1])?.sub as string | undefined) ?? '';
  const status = appStatus(rt, tenant, clientId);
  if (status.kind === 'unknown') return refuse(AAD.appNotFound(clientId, tenant.name));
  const refused = check(rt, tenant, status.app, clientId, body.client_assertion);
  if (refused) return refuse(refused);
  const rest: Record<string, string> = { ...body };
  delete rest.client_assertion;
  delete rest.client_assertion_type;
  withBody.body = { ...rest, client_id: clientId, client_secret: status.app.clientSecret };
  return false;
}

/** fe.uploadCertificate / fe.removeCertificate: the app registration's Certificates list. */
export function certificateControls(rt: Runtime) {
  const appOf = (clientId: string): FakeApp => {
    const app = rt.apps.get(clientId.toLowerCase());
    if (!app) throw new TypeError(`fake-entra: unknown app '${clientId}'`);
    return app;
  };
  return {
    uploadCertificate(clientId: string, pem: string | Buffer): void {
      certificatesOf(rt, appOf(clientId)).push(new X509Certificate(pem).toString());
    },
    removeCertificate(clientId: string, thumbprint: string): void {
      const list = certificatesOf(rt, appOf(clientId));
      const kept = list.filter((pem) => new X509Certificate(pem).fingerprint.replace(/:/g, '') !== thumbprint.toUpperCase());
      list.splice(0, list.length, ...kept);
    },
  };
}
