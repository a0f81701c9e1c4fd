/**
 * The benchmark's peers, when installed (`npm run bench:peers` installs them):
 *
 * - nginx as a plain reverse proxy: one worker process, keep-alive to the upstream,
 *   no access log;
 * - Apache httpd (event MPM, one process) with mod_auth_openidc and a valid session:
 *   the same job as the gateway (an authenticated session checked on every request,
 *   the user's claims passed to the upstream as headers), with mod_auth_openidc's
 *   default server-side session cache. The session is made by a real sign-in
 *   against a small OpenID provider run here (discovery, authorize, token, JWKS).
 *
 * Each server runs from a config written to a temporary directory, on a free port,
 * pinned like the other servers under test; the system services are not used.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { request } from 'undici';
import { findExecutable, startServer } from './processes.ts';

export interface Peer {
  readonly url: string;
  readonly pid: number;
  /** headers the load generator sends (Host, the session cookie) */
  readonly headers: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export const NGINX = findExecutable('nginx');
export const APACHE = findExecutable('apache2') ?? findExecutable('httpd');
const APACHE_MODULES = ['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/usr/lib/httpd/modules'].find((d) =>
  existsSync(join(d, 'mod_auth_openidc.so')),
);

export const APACHE_OIDC = APACHE !== null && APACHE_MODULES !== undefined;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const hostPort = (url: string) => new URL(url).host;

// ------------------------------------------------------------------ nginx

export async function startNginx(upstream: string, cpus: string | undefined): Promise<Peer | null> {
  if (!NGINX) return null;
  const dir = mkdtempSync(join(tmpdir(), 'regentra-nginx-'));
  const port = await freePort();
  const root = process.getuid?.() === 0;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${root ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  upstream app { server ${hostPort(upstream)}; keepalive 128; keepalive_requests 100000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`,
  );
  const server = await startServer(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], cpus, () => accepts(port), 'nginx');
  return {
    url: `http://127.0.0.1:${port}`,
    pid: server.pid,
    headers: {},
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ a small OpenID provider

interface Provider {
  readonly url: string;
  close(): Promise<void>;
}

const CLIENT_ID = 'regentra-bench';
const CLIENT_SECRET = randomBytes(16).toString('hex');

async function startProvider(): Promise<Provider> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const nonces = new Map<string, string>();
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (u.pathname === '/.well-known/openid-configuration') {
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          scopes_supported: ['openid', 'email', 'profile'],
          code_challenge_methods_supported: ['S256', 'plain'],
        });
      }
      if (u.pathname === '/jwks') return json(200, { keys: [jwk] });
      if (u.pathname === '/authorize') {
        // every sign-in succeeds at once: back to the client with a code
        const code = randomBytes(16).toString('hex');
        nonces.set(code, u.searchParams.get('nonce') ?? '');
        const back = new URL(u.searchParams.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', u.searchParams.get('state') ?? '');
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (u.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        const code = form.get('code') ?? '';
        if (!nonces.has(code)) return json(400, { error: 'invalid_grant' });
        const nonce = nonces.get(code) as string;
        nonces.delete(code);
        const now = Math.floor(Date.now() / 1000);
        void new SignJWT({ nonce, email: 'bench@example.com', name: 'Bench Mark' })
          .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'JWT' })
          .setIssuer(issuer)
          .setAudience(CLIENT_ID)
          .setSubject('bench-user')
          .setIssuedAt(now)
          .setExpirationTime(now + 3600)
          .sign(privateKey)
          .then((idToken) => json(200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 3600, id_token: idToken }));
        return;
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: issuer, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// ------------------------------------------------------------------ Apache + mod_auth_openidc

const APACHE_HOST = 'apache.bench.test';

function cookiesOf(setCookie: string | string[] | undefined): string[] {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  return list.map((c) => c.split(';', 1)[0] as string).filter((c) => !c.endsWith('='));
}

/** sign in through mod_auth_openidc like a browser would; the session cookie */
async function signIn(base: string, port: number): Promise<string> {
  const headers = { host: `${APACHE_HOST}:${port}` };
  // a browser navigation (mod_auth_openidc answers other requests without a session with 401)
  const first = await request(`${base}/api/items`, { headers: { ...headers, accept: 'text/html' } });
  await first.body.dump();
  if (first.statusCode !== 302) throw new Error(`mod_auth_openidc: expected a redirect to sign in, got ${first.statusCode}`);
  const state = cookiesOf(first.headers['set-cookie']);
  const authorize = await request(String(first.headers.location));
  await authorize.body.dump();
  const callback = new URL(String(authorize.headers.location));
  const back = await request(`${base}${callback.pathname}${callback.search}`, { headers: { ...headers, accept: 'text/html', cookie: state.join('; ') } });
  const text = await back.body.text();
  const session = cookiesOf(back.headers['set-cookie']).filter((c) => c.startsWith('mod_auth_openidc_session='));
  if (back.statusCode !== 302 || session.length === 0)
    throw new Error(`mod_auth_openidc: sign-in did not create a session (${back.statusCode}: ${text.slice(0, 300)})`);
  return session.join('; ');
}

export async function startApacheOidc(upstream: string, cpus: string | undefined): Promise<Peer | null> {
  if (!APACHE || !APACHE_MODULES) return null;
  const dir = mkdtempSync(join(tmpdir(), 'regentra-apache-'));
  const port = await freePort();
  const provider = await startProvider();
  // (some are built in, depending on the distribution)
  const mod = (name: string, file: string) => `<IfModule !${name}>\nLoadModule ${name} ${APACHE_MODULES}/${file}\n</IfModule>`;
  const root = process.getuid?.() === 0;
  writeFileSync(
    join(dir, 'httpd.conf'),
    [
      mod('mpm_event_module', 'mod_mpm_event.so'),
      mod('authn_core_module', 'mod_authn_core.so'),
      mod('authz_core_module', 'mod_authz_core.so'),
      mod('authz_user_module', 'mod_authz_user.so'),
      mod('unixd_module', 'mod_unixd.so'),
      mod('proxy_module', 'mod_proxy.so'),
      mod('proxy_http_module', 'mod_proxy_http.so'),
      mod('auth_openidc_module', 'mod_auth_openidc.so'),
      root ? 'User www-data\nGroup www-data' : '',
      `ServerName ${APACHE_HOST}`,
      `Listen 127.0.0.1:${port}`,
      `PidFile ${dir}/httpd.pid`,
      `DefaultRuntimeDir ${dir}`,
      `ErrorLog ${dir}/error.log`,
      'LogLevel warn',
      // one process (the servers get one core), enough threads for the connections
      'StartServers 1',
      'ServerLimit 1',
      'ThreadLimit 128',
      'ThreadsPerChild 128',
      'MaxRequestWorkers 128',
      'MinSpareThreads 1',
      'MaxSpareThreads 128',
      'KeepAlive On',
      'MaxKeepAliveRequests 0',
      'KeepAliveTimeout 60',
      `OIDCProviderMetadataURL ${provider.url}/.well-known/openid-configuration`,
      `OIDCClientID ${CLIENT_ID}`,
      `OIDCClientSecret ${CLIENT_SECRET}`,
      'OIDCRedirectURI /redirect_uri',
      `OIDCCryptoPassphrase ${randomBytes(24).toString('hex')}`,
      'OIDCScope "openid email profile"',
      'OIDCSSLValidateServer Off',
      '<Location />',
      '  AuthType openid-connect',
      '  Require valid-user',
      '</Location>',
      'ProxyPass /redirect_uri !',
      `ProxyPass / ${upstream}/`,
      '',
    ].join('\n'),
  );
  let server: { pid: number; stop(): Promise<void> };
  try {
    server = await startServer(APACHE, ['-d', dir, '-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], cpus, () => accepts(port), 'Apache httpd');
  } catch (err) {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await server.stop();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cookie = await signIn(url, port);
    return { url, pid: server.pid, headers: { host: `${APACHE_HOST}:${port}`, cookie }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
