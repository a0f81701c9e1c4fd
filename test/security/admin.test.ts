/**
 * The settings pages, attacked. Complements test/admin/access.test.ts (a fixed list of
 * routes): here every route under /.auth/admin is taken from the router itself and
 * tried with every method by everyone who is not an active staff admin on the staff
 * host; an admin drives every kind of change and the secrets (the staff app's client
 * secret, the portal app's, the gateway's keys, the sealed values) are searched for in
 * every answer, every audit row and every log line; each change leaves exactly one
 * audit entry naming its author, and each refused change one failure entry.
 */
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { STAFF_SSO_KEY, type StaffSsoSettings } from '../../src/auth/policy.ts';
import { startGateway, type TestGateway } from '../support/gateway.ts';
import type { FakeEntra } from '../../dev/fake-entra/index.ts';
import { Browser, HOSTS, PATH, PORTAL_APP, STAFF_APP, TENANTS, csrfOf, staffAdmin, startEntra, versionOf } from '../admin/helpers.ts';
import { assertNoSecret } from './support.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

let entra: FakeEntra;
let gw: TestGateway;
const logs: string[] = [];

before(async () => {
  entra = await startEntra();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  gw = await startGateway({
    deps: { logger: pino({ level: 'trace' }, sink) },
    configure(raw) {
      const sites = raw.sites as { portal: Record<string, unknown> };
      sites.portal.entra = { ...PORTAL_APP };
      sites.portal.centralCallbackHost = HOSTS.central;
      raw.entra = { authorityHost: entra.url, graphUrl: entra.graphUrl, graphResource: entra.graphResource, allowInsecure: true };
      return raw;
    },
  });
});
after(async () => {
  await gw.close();
  await entra.close();
});

/** every admin route the router knows, with its parameters filled in */
function adminRoutes(): string[] {
  const tree = gw.app.printRoutes({ commonPrefix: false });
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ├└─]*)(\S.*?) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = Math.round((m[1] as string).length / 4);
    stack.length = depth;
    stack[depth] = m[2] as string;
    const path = stack.join('').replace(/\/+/g, '/');
    if (path.startsWith('/.auth/admin')) out.add(path.replace(':clientId', 'acme').replace('*', 'anything'));
  }
  return [...out].sort();
}

describe('who may call the admin routes', () => {
  test("the router's admin routes are all exercised below", () => {
    const routes = adminRoutes();
    for (const known of ['/.auth/admin', '/.auth/admin/', PATH.sso, PATH.audit, PATH.portal('acme'), '/.auth/admin/portal/switch'])
      assert.ok(routes.includes(known), known);
  });

  const callers: ReadonlyArray<readonly [string, () => Promise<{ host: string; cookie?: string }>, readonly number[]]> = [
    ['nobody (no session)', async () => ({ host: HOSTS.staff }), [401, 303, 404]],
    ['a staff member', async () => ({ host: HOSTS.staff, cookie: (await staffAdmin(gw, { role: 'member' })).cookie }), [403]],
    [
      'a staff "admin" whose account says member',
      async () => {
        const { cookie, uid } = await staffAdmin(gw);
        await gw.store.updateUser('staff', uid, { role: 'member' });
        return { host: HOSTS.staff, cookie };
      },
      [403],
    ],
    [
      'a disabled staff admin',
      async () => {
        const { cookie, uid } = await staffAdmin(gw);
        await gw.store.updateUser('staff', uid, { status: 'disabled' });
        gw.core.revocation.forget('staff', uid);
        return { host: HOSTS.staff, cookie };
      },
      [401, 303, 403, 404],
    ],
    ['a portal user on the staff host', async () => ({ host: HOSTS.staff, cookie: await gw.sessionCookie(HOSTS.acme) }), [401, 303, 403, 404]],
    ['a portal user on their portal', async () => ({ host: HOSTS.acme, cookie: await gw.sessionCookie(HOSTS.acme) }), [404]],
    ['a staff admin on a portal host', async () => ({ host: HOSTS.acme, cookie: (await staffAdmin(gw)).cookie }), [404]],
    ['a staff admin on the central callback host', async () => ({ host: HOSTS.central, cookie: (await staffAdmin(gw)).cookie }), [404]],
    [
      'a staff admin whose session names another realm',
      async () => {
        const { uid } = await staffAdmin(gw);
        return { host: HOSTS.staff, cookie: await gw.sessionCookie(HOSTS.staff, { uid, role: 'admin', realm: 'portal:acme' }) };
      },
      [401, 303, 403],
    ],
  ];

  for (const [who, make, allowed] of callers) {
    test(`${who}: refused on every admin route and method, and nothing changes`, async () => {
      const { host, cookie } = await make();
      const settingsBefore = JSON.stringify(await gw.store.listSettings(''));
      for (const path of adminRoutes()) {
        for (const method of METHODS) {
          for (const accept of ['text/html', 'application/json']) {
            const res = await gw.request(host, path, {
              method,
              headers: {
                accept,
                ...(cookie ? { cookie } : {}),
                ...(method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${host}` }),
              },
              ...(method === 'GET' || method === 'HEAD' ? {} : { body: 'action=enable&csrf=x&version=0&tenantId=x&mfa=optional' }),
            });
            const body = await res.body.text();
            const what = `${who}: ${method} ${path} (${accept})`;
            if (res.statusCode === 303) assert.match(String(res.headers.location), /^\/\.auth\/login\?rd=/, `${what}: redirected to ${res.headers.location}`);
            // 404: a method the route does not have (nothing there to refuse)
            else assert.ok(allowed.includes(res.statusCode) || res.statusCode === 404, `${what}: ${res.statusCode}`);
            assert.doesNotMatch(body, /Single Sign-On<\/h1>|Audit log<\/h1>|name="csrf"/, `${what}: an admin page was served`);
          }
        }
      }
      assert.equal(JSON.stringify(await gw.store.listSettings('')), settingsBefore, 'no setting changed');
    });
  }
});

describe('an admin at work: secrets never come back, every change is audited', () => {
  const seen: string[] = [];
  let admin: Browser;
  let adminUid: string;

  async function page(path: string, headers?: Record<string, string>) {
    const p = await admin.get(path, headers);
    seen.push(p.body, JSON.stringify(p.headers));
    return p;
  }

  /** POST an admin form from `path`'s page; returns the answer and the audit rows it added */
  async function act(path: string, fields: Record<string, string>) {
    const before = (await gw.store.listAudit({ limit: 1000 })).length;
    const form = await page(path);
    const res = await admin.send('POST', path, { form: { csrf: csrfOf(form.body), version: versionOf(form.body), ...fields } });
    seen.push(res.body, JSON.stringify(res.headers));
    if (res.location) seen.push((await page(res.location)).body);
    const added = (await gw.store.listAudit({ limit: 1000 })).slice(0, (await gw.store.listAudit({ limit: 1000 })).length - before);
    return { res, added };
  }

  before(async () => {
    // a password + TOTP admin: staff SSO is not configured yet (an SSO session would be no session)
    const a = await staffAdmin(gw, { amr: ['pwd', 'otp'] });
    adminUid = a.uid;
    admin = new Browser(gw, HOSTS.staff, a.cookie);
  });

  test('every successful change leaves one success entry naming the admin; every refusal one failure entry', async () => {
    const creds = { tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret };
    const steps: ReadonlyArray<readonly [string, string, Record<string, string>, 'success' | 'failure', number]> = [
      ['save the staff app', PATH.sso, { action: 'save', ...creds }, 'success', 303],
      ['enable before a test', PATH.sso, { action: 'enable' }, 'failure', 409],
      ['turn auto-provision on', PATH.sso, { action: 'auto-provision-on' }, 'success', 303],
      ['turn auto-provision off', PATH.sso, { action: 'auto-provision-off' }, 'success', 303],
      ['SSO-only while SSO is off', PATH.sso, { action: 'sso-only-on' }, 'failure', 409],
      [
        "save acme's tenant and SSO",
        PATH.portal('acme'),
        { action: 'save', tenantId: TENANTS.acme, ssoEnabled: 'on', passwordAllowed: 'on', mfa: 'required' },
        'success',
        303,
      ],
      ["turn globex's TOTP requirement off", PATH.portal('globex'), { action: 'save', tenantId: '', mfa: 'optional' }, 'success', 303],
      ['enable SSO for globex without a tenant', PATH.portal('globex'), { action: 'save', tenantId: '', ssoEnabled: 'on', mfa: 'optional' }, 'failure', 409],
    ];
    for (const [what, path, fields, outcome, status] of steps) {
      const { res, added } = await act(path, fields);
      assert.equal(res.status, status, `${what}: ${res.status} ${res.body.slice(0, 200)}`);
      const changes = added.filter((e) => e.type === 'settings.change');
      assert.equal(changes.length, 1, `${what}: ${changes.length} settings.change entries (${added.map((e) => e.type)})`);
      const event = changes[0]!;
      assert.equal(event.outcome, outcome, what);
      assert.equal(event.actor, adminUid, `${what}: the author`);
      assert.equal((event.details as { by?: string }).by, admin.cookies.size > 0 ? (await gw.store.getUser('staff', adminUid))!.email : undefined);
      assert.ok(event.ip, `${what}: the address`);
    }
    const staff = (await gw.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY))!.value;
    assert.ok(staff.clientSecretEnc && staff.clientSecretEnc !== STAFF_APP.clientSecret, 'the secret is stored sealed');
  });

  test('Test Connection round trip: the secret travels to Microsoft and nowhere else', async () => {
    const form = await page(PATH.sso);
    const res = await admin.send('POST', PATH.sso, {
      form: {
        csrf: csrfOf(form.body),
        version: versionOf(form.body),
        action: 'test',
        tenantId: TENANTS.staff,
        clientId: STAFF_APP.clientId,
        clientSecret: STAFF_APP.clientSecret,
      },
    });
    seen.push(res.body, JSON.stringify(res.headers));
    assert.equal(res.status, 303, res.body.slice(0, 300));
    assert.ok(res.location?.startsWith(entra.url), 'to Microsoft');
    assert.ok(
      !res.location!.includes(encodeURIComponent(STAFF_APP.clientSecret)) && !res.location!.includes(STAFF_APP.clientSecret),
      'not in the authorize URL',
    );
  });

  test('no page, API answer, audit row or log line holds a secret', async () => {
    for (const path of [
      PATH.home,
      PATH.sso,
      PATH.portal('acme'),
      PATH.portal('globex'),
      PATH.portal('initech'),
      PATH.audit,
      `${PATH.audit}?type=settings.change`,
      `${PATH.audit}?type=sso.test`,
      '/.auth/me',
      '/.auth/admin/portal/switch?client=acme',
    ]) {
      for (const accept of ['text/html', 'application/json']) {
        const p = await page(path, { accept });
        if (p.location) seen.push((await page(p.location)).body);
      }
    }
    const stored = (await gw.store.getSetting<StaffSsoSettings>(STAFF_SSO_KEY))!.value;
    const drafts = (await gw.store.listSettings('sso.staff.draft.'))
      .map((s) => (s.value as { secretEnc?: string } | null)?.secretEnc)
      .filter((v): v is string => typeof v === 'string');
    const keys = gw.config.keys;
    const secrets: Record<string, string> = {
      'staff client secret': STAFF_APP.clientSecret,
      'staff client secret, %-encoded': encodeURIComponent(STAFF_APP.clientSecret),
      'portal client secret': PORTAL_APP.clientSecret,
      'sealed staff secret': stored.clientSecretEnc!,
      'session key': keys.session[0]!,
      'encryption key': keys.encryption[0]!.key,
      'signing key': keys.signing[0]!.privateKey.split('\n')[1]!,
      ...Object.fromEntries(drafts.map((d, i) => [`sealed draft secret ${i}`, d])),
    };
    assert.ok(seen.length > 40, `only ${seen.length} answers collected`);
    assertNoSecret(seen, secrets, 'an answer');
    assertNoSecret([JSON.stringify(await gw.store.listAudit({ limit: 1000 }))], secrets, 'the audit log');
    assert.ok(logs.length > 100, `only ${logs.length} log lines`);
    assertNoSecret(logs, secrets, 'the log');
  });
});
