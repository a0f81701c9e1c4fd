// Discovery document and JWKS, served by the stand-in itself (so they can be broken on demand).
import type { ServerResponse } from 'node:http';
import { tenantJwks } from './keys.ts';
import { sendJson } from './http.ts';
import type { Runtime, TenantBase } from './types.ts';

/** The tenant's v2.0 OpenID configuration, field for field like Entra's. */
export function discoveryDocument(rt: Runtime, tenant: TenantBase): Record<string, unknown> {
  const base = `${rt.url}/${tenant.id}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: tenant.issuer,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${rt.graphUrl}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: new URL(rt.graphUrl).host,
    rbac_url: 'https://pas.windows.net',
  };
}

const JSON_HEADERS = { 'access-control-allow-origin': '*', 'cache-control': 'max-age=86400, private' };

export function sendDiscovery(rt: Runtime, tenant: TenantBase, res: ServerResponse): void {
  if (rt.garbage === 'discovery') {
    // truncated JSON behind a JSON content type
    const broken = `{"token_endpoint":"${rt.url}/${tenant.id}/oauth2/v2.0/token","issuer":`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...JSON_HEADERS });
    res.end(broken);
    return;
  }
  sendJson(res, 200, discoveryDocument(rt, tenant), JSON_HEADERS);
}

export function sendJwks(rt: Runtime, tenant: TenantBase, res: ServerResponse): void {
  if (rt.garbage === 'jwks') {
    sendJson(res, 200, { keys: 'this is not a key set' }, JSON_HEADERS);
    return;
  }
  sendJson(res, 200, tenantJwks(tenant), JSON_HEADERS);
}
