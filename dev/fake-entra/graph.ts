// A sliver of Microsoft Graph: GET /v1.0/me and the OIDC userinfo endpoint, accepting the
// access tokens the stand-in's token endpoints issue.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { sendJson } from './http.ts';
import { pairwiseSub } from './keys.ts';
import { GRAPH_APP_ID } from './provider.ts';
import { findTenant, type FakeUser, type Runtime, type TenantRuntime } from './types.ts';

interface GraphFailure {
  status: number;
  code: string;
  message: string;
}

const invalidToken = (message: string): GraphFailure => ({ status: 401, code: 'InvalidAuthenticationToken', message });

function sendGraphError(req: IncomingMessage, res: ServerResponse, f: GraphFailure): void {
  const requestId = randomUUID();
  const headers: Record<string, string> = { 'request-id': requestId };
  if (f.status === 401) {
    headers['www-authenticate'] =
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';
  }
  const clientRequestId = req.headers['client-request-id'];
  sendJson(
    res,
    f.status,
    {
      error: {
        code: f.code,
        message: f.message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d+Z$/, ''),
          'request-id': requestId,
          'client-request-id': typeof clientRequestId === 'string' ? clientRequestId : requestId,
        },
      },
    },
    headers,
  );
}

/** delegated permissions that let /me (and userinfo's profile) be read */
const USER_READ_SCOPES = new Set([
  'User.Read',
  'User.ReadWrite',
  'User.ReadBasic.All',
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
]);

type Authenticated = { tenant: TenantRuntime; claims: JWTPayload };

async function authenticate(rt: Runtime, req: IncomingMessage): Promise<Authenticated | GraphFailure> {
  const header = req.headers.authorization ?? '';
  const token = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : '';
  if (!token) return invalidToken('Access token is empty.');
  if (token.split('.').length !== 3) return invalidToken('IDX14100: JWT is not well formed, there are no dots (.).');
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    return invalidToken('IDX14102: Unable to decode the header or payload as Base64Url encoded string.');
  }
  const tenant = findTenant(rt, String(unverified.tid ?? ''));
  if (!tenant) return invalidToken('Access token validation failure. Invalid issuer.');
  try {
    const { payload } = await jwtVerify(token, tenant.keys.rsa.publicKey, {
      algorithms: ['RS256'],
      issuer: `https://sts.windows.net/${tenant.id}/`,
      audience: GRAPH_APP_ID,
    });
    return { tenant, claims: payload };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return invalidToken('Lifetime validation failed, the token is expired.');
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') {
      return invalidToken('Access token validation failure. Invalid audience.');
    }
    return invalidToken('Access token validation failure.');
  }
}

function splitName(name: string): { givenName: string | null; surname: string | null } {
  const space = name.indexOf(' ');
  return space < 0 ? { givenName: name, surname: null } : { givenName: name.slice(0, space), surname: name.slice(space + 1) };
}

export function graphUser(user: FakeUser): Record<string, unknown> {
  const { givenName, surname } = splitName(user.name);
  return {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity',
    businessPhones: [],
    displayName: user.name,
    givenName,
    jobTitle: null,
    mail: user.mail ?? user.email ?? null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname,
    userPrincipalName: user.userPrincipalName ?? user.preferredUsername,
    id: user.oid,
  };
}

function selectFields(entity: Record<string, unknown>, select: string | null): Record<string, unknown> {
  if (!select) return entity;
  const wanted = new Set(
    select
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  return Object.fromEntries(Object.entries(entity).filter(([name]) => name.startsWith('@odata') || wanted.has(name.toLowerCase())));
}

/** Requests under `${graphUrl}`; `path` is what follows `/graph`. */
export async function handleGraph(rt: Runtime, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const log = (status: number, auth?: Authenticated) =>
    rt.graphRequests.push({ path, status, tenant: auth?.tenant.id ?? null, oid: typeof auth?.claims.oid === 'string' ? auth.claims.oid : null });
  const fail = (f: GraphFailure, auth?: Authenticated) => {
    log(f.status, auth);
    sendGraphError(req, res, f);
  };

  const route = path === '/v1.0/me' ? 'me' : path === '/oidc/userinfo' ? 'userinfo' : undefined;
  if (!route) return fail({ status: 400, code: 'BadRequest', message: `Resource not found for the segment '${path.split('/').pop() ?? ''}'.` });
  if (req.method !== 'GET' && !(route === 'userinfo' && req.method === 'POST')) {
    return fail({ status: 405, code: 'Request_BadRequest', message: 'Specified HTTP method is not allowed for the request target.' });
  }
  const auth = await authenticate(rt, req);
  if (!('tenant' in auth)) return fail(auth);
  // fe.refuseGraph: what Graph answers when the app lacks User.Read (or consent to it), or
  // when it does not accept the token at all
  if (rt.graphRefusal === 'forbidden') {
    return fail({ status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' }, auth);
  }
  if (rt.graphRefusal === 'invalid-token') return fail(invalidToken('Access token validation failure. Invalid audience.'), auth);
  if (auth.claims.idtyp === 'app') {
    return fail({ status: 400, code: 'BadRequest', message: `/me request is only valid with delegated authentication flow.` }, auth);
  }
  // strict: a delegated token reads the signed-in user only with a permission that allows it
  if (
    rt.strict &&
    !String(auth.claims.scp ?? '')
      .split(' ')
      .some((s) => USER_READ_SCOPES.has(s))
  ) {
    return fail({ status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' }, auth);
  }
  const oid = String(auth.claims.oid ?? '');
  const user = auth.tenant.users.get(oid.toLowerCase());
  if (!user) {
    return fail(
      {
        status: 404,
        code: 'Request_ResourceNotFound',
        message: `Resource '${oid}' does not exist or one of its queried reference-property objects are not present.`,
      },
      auth,
    );
  }

  log(200, auth);
  if (route === 'me') {
    const select = new URL(req.url ?? '/', 'http://x').searchParams.get('$select');
    return sendJson(res, 200, selectFields(graphUser(user), select));
  }
  const { givenName, surname } = splitName(user.name);
  sendJson(res, 200, {
    sub: pairwiseSub(auth.tenant.id, String(auth.claims.appid ?? ''), user.oid),
    name: user.name,
    family_name: surname ?? undefined,
    given_name: givenName ?? undefined,
    picture: `${rt.graphUrl}/v1.0/me/photo/$value`,
    ...(user.email === undefined ? {} : { email: user.email }),
  });
}
