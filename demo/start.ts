/**
 * `npm start`: the whole product on one machine, with no Azure account.
 *
 *  1. generates demo keys into data/demo/ (once);
 *  2. starts the local Entra ID stand-in on 127.0.0.1:9400 (three tenants: Regentra's
 *     own staff tenant, Acme's tenant, and Contoso — a tenant nobody has configured);
 *  3. starts the two sample backends (staff app :3001, portal app :3002), which verify
 *     the signed identity header with the gateway's JWKS;
 *  4. seeds demo users and turns on staff SSO and Acme's portal SSO (globex keeps
 *     password + TOTP only);
 *  5. serves config/demo.yaml and prints what to open, the demo accounts and the values
 *     to try Test Connection with; on a terminal, one short line per request follows
 *     (./log-lines.ts), otherwise the usual JSON log lines.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../src/config/load.ts';
import { generateKeys, mustDecodeKey32 } from '../src/config/keys.ts';
import { serve, openConfiguredStore } from '../src/main.ts';
import { createSecretBox } from '../src/store/secretbox.ts';
import { STAFF_SSO_KEY, DEFAULT_STAFF_SSO, DEFAULT_PORTAL_AUTH, portalAuthKey, type StaffSsoSettings, type PortalAuthSettings } from '../src/auth/policy.ts';
import { createLocalUser, linkIdentity } from '../src/auth/password/users.ts';
import { enrolTotp } from '../dev/seed.ts';
import { settingsFingerprintFor } from '../src/auth/entra/secrets.ts';
import type { Store } from '../src/store/types.ts';
import type { Config } from '../src/config/schema.ts';
import { registeredRedirectUris } from '../src/auth/entra/urls.ts';
import { startFakeEntra, type FakeEntra } from '../dev/fake-entra/index.ts';
import { startSampleBackend } from '../examples/backend/server.ts';
import { DEMO, DEMO_USERS } from './fixtures.ts';
import { terminalLogLines } from './log-lines.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(root, 'data/demo');

function ensureKeys(): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const files: Array<[string, () => string]> = [
    ['session.key', () => generateKeys().session],
    ['encryption.key', () => generateKeys().encryption],
    ['signing.pem', () => generateKeys().signingPem],
    ['portal-app.secret', () => DEMO.portalApp.clientSecret],
  ];
  for (const [name, make] of files) {
    const file = resolve(dataDir, name);
    if (!existsSync(file)) writeFileSync(file, `${make()}\n`, { mode: 0o600 });
  }
}

async function startEntra(config: Config): Promise<FakeEntra> {
  const port = Number(new URL(config.entra.authorityHost).port);
  // registered as an admin would: exactly what `regentra-gateway sso redirect-uris` prints
  const uris = registeredRedirectUris(config);
  return startFakeEntra({
    port,
    tenants: DEMO.tenants.map((t) => ({ id: t.id, name: t.name, users: t.users.map((u) => ({ ...u })) })),
    apps: [
      { ...DEMO.staffApp, multiTenant: false, redirectUris: [...uris.staff.uris], optionalClaims: ['xms_edov', 'login_hint'] },
      { ...DEMO.portalApp, multiTenant: true, redirectUris: [...(uris.portal?.uris ?? [])], optionalClaims: ['xms_edov', 'login_hint'] },
    ],
  });
}

async function seed(config: Config, store: Store): Promise<Array<{ realm: string; email: string; password: string; totp: string | null }>> {
  const box = createSecretBox(config.keys.encryption.map((k) => ({ id: k.id, key: mustDecodeKey32(k.key) })));
  const printed: Array<{ realm: string; email: string; password: string; totp: string | null }> = [];
  for (const u of DEMO_USERS) {
    let user = await store.getUserByEmail(u.realm, u.email);
    if (!user) {
      user = await createLocalUser(store, {
        realm: u.realm,
        email: u.email,
        name: u.name,
        role: u.role,
        password: u.password,
        minLength: config.auth.password.minLength,
        actor: 'demo',
      });
      if (u.totpSecret) await enrolTotp(store, box, user, { secret: u.totpSecret, actor: 'demo' });
      // as an admin would with `regentra-gateway users link`: an email never links an account
      if (u.microsoft) await linkIdentity(store, user, u.microsoft, { actor: 'demo' });
    }
    printed.push({ realm: u.realm, email: u.email, password: u.password, totp: u.totpSecret });
  }

  if (!(await store.getSetting(STAFF_SSO_KEY))) {
    const creds = { tenantId: DEMO.staffTenant, clientId: DEMO.staffApp.clientId, clientSecret: DEMO.staffApp.clientSecret };
    const staff: StaffSsoSettings = {
      ...DEFAULT_STAFF_SSO,
      ...{ tenantId: creds.tenantId, clientId: creds.clientId },
      clientSecretEnc: box.seal(creds.clientSecret, STAFF_SSO_KEY),
      secretSetAt: Date.now(),
      testedFingerprint: settingsFingerprintFor(config, creds),
      testedAt: Date.now(),
      enabled: true,
      updatedBy: 'demo',
      updatedAt: Date.now(),
    };
    await store.putSetting(STAFF_SSO_KEY, staff, 0);
  }
  if (!(await store.getSetting(portalAuthKey('acme')))) {
    const acme: PortalAuthSettings = {
      ...DEFAULT_PORTAL_AUTH,
      tenantId: DEMO.acmeTenant,
      ssoEnabled: true,
      passwordAllowed: true,
      consent: { status: 'granted', at: Date.now(), tenantId: DEMO.acmeTenant, error: null },
      updatedBy: 'demo',
      updatedAt: Date.now(),
    };
    await store.putSetting(portalAuthKey('acme'), acme, 0);
  }
  return printed;
}

async function run(): Promise<void> {
  ensureKeys();
  const configPath = resolve(root, 'config/demo.yaml');
  const { config, warnings } = loadConfigFile(configPath, process.env);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);

  const entra = await startEntra(config);
  entra.grantConsent(DEMO.acmeTenant, DEMO.portalApp.clientId);
  const jwksUrl = `http://127.0.0.1:${config.server.port}/.auth/jwks.json`;
  const staffApp = await startSampleBackend({
    port: 3001,
    name: 'Regentra staff app (sample)',
    audience: 'staff',
    issuer: config.identity.issuer,
    jwksUrl,
    accent: '#3346d3',
  });
  const portalApp = await startSampleBackend({
    port: 3002,
    name: 'Support portal (sample)',
    audience: 'portal',
    issuer: config.identity.issuer,
    jwksUrl,
    accent: '#0e7c66',
  });

  const seedStore = await openConfiguredStore(config);
  const users = await seed(config, seedStore).finally(() => seedStore.close());

  const running = await serve(config, process.stdout.isTTY ? { logDestination: terminalLogLines(process.stdout) } : {});
  const port = config.server.publicPort ?? config.server.port;
  const line = (s = '') => process.stdout.write(`${s}\n`);
  line();
  line('Regentra Gateway demo is running.');
  line();
  line(`  Staff app:        http://staff.localhost:${port}     (Sign in with Microsoft, or password + TOTP)`);
  line(`  Staff settings:   http://staff.localhost:${port}/.auth/admin/   (as a staff admin)`);
  line(`  Acme's portal:    http://acme.localhost:${port}      (Microsoft sign-in through Acme's tenant, or password)`);
  line(`  Globex's portal:  http://globex.localhost:${port}    (password + TOTP only)`);
  line(`  Ops:              ${running.opsUrl}/healthz  /readyz  /metrics`);
  line(`  Entra stand-in:   ${entra.url}  (its sign-in page lets you pick a user; Contoso's users are refused everywhere)`);
  line();
  line('  Local accounts (password sign-in):');
  for (const u of users)
    line(`    ${u.realm.padEnd(14)} ${u.email.padEnd(26)} password: ${u.password}   ${u.totp ? `TOTP secret: ${u.totp}` : 'TOTP: enrols at first sign-in'}`);
  line();
  line("  Try Test Connection (Settings → Security → Single Sign-On) with the stand-in's staff app");
  line('  registration (public demo data, never a real secret):');
  line(`    Tenant ID      ${DEMO.staffTenant}`);
  line(`    Client ID      ${DEMO.staffApp.clientId}`);
  line(`    Client Secret  ${DEMO.staffApp.clientSecret}`);
  line('    then sign in at the stand-in as Ada Admin.');
  line();
  line('  Current TOTP codes: npm run demo:totp      Stop: Ctrl-C');
  line(process.stdout.isTTY ? '  Requests (one line each):' : '  Log lines follow as JSON.');
  line();

  const code = await running.closed;
  await Promise.allSettled([entra.close(), staffApp.close(), portalApp.close()]);
  process.exitCode = code;
}

run().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
