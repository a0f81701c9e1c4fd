// Who may open the settings pages, and the CSRF rule of their forms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestGateway } from '../support/gateway.ts';
import { Browser, HOSTS, PATH, csrfOf, staffAdmin, startAdminGateway, versionOf } from './helpers.ts';
import { tampered } from '../support/tamper.ts';

const GETS = [
  PATH.home,
  '/.auth/admin',
  PATH.sso,
  '/.auth/admin/portal/',
  '/.auth/admin/portal/switch?client=acme',
  PATH.portal('acme'),
  PATH.portal('nope'),
  PATH.audit,
  '/.auth/admin/nope',
];
const POSTS = [PATH.sso, PATH.portal('acme'), '/.auth/admin/nope'];
const FORM = { csrf: 'x'.repeat(32), version: '0', action: 'enable' };

let gw: TestGateway;
before(async () => {
  gw = await startAdminGateway({ transport: 'inject' });
});
after(() => gw.close());

async function everyRoute(browser: Browser, expect: (page: { status: number; location: string | null; body: string }, what: string) => void): Promise<void> {
  for (const path of GETS) expect(await browser.get(path), `GET ${path}`);
  for (const path of POSTS) expect(await browser.send('POST', path, { form: FORM }), `POST ${path}`);
}

describe('admin access', () => {
  test('an admin gets the pages; /.auth/admin/ leads to Single Sign-On', async () => {
    const { cookie } = await staffAdmin(gw);
    const b = new Browser(gw, HOSTS.staff, cookie);
    const home = await b.get(PATH.home);
    assert.equal(home.status, 303);
    assert.equal(home.location, PATH.sso);
    const sso = await b.get(PATH.sso);
    assert.equal(sso.status, 200);
    assert.match(sso.body, /Settings → Security → Single Sign-On/);
    assert.match(sso.body, /href="\/\.auth\/admin\/audit">Audit log</);
    assert.match(sso.body, /Authentication</);
    assert.equal((await b.get(PATH.audit)).status, 200);
    assert.equal((await b.get(PATH.portal('acme'))).status, 200);
    assert.equal((await b.get('/.auth/admin/nope')).status, 404);
  });

  test('no session: browsers are sent to sign-in, API clients get 401', async () => {
    const b = new Browser(gw, HOSTS.staff);
    await everyRoute(b, (page, what) => {
      if (what.startsWith('GET')) {
        assert.equal(page.status, 303, what);
        assert.match(page.location ?? '', /^\/\.auth\/login\?rd=/, what);
      } else assert.equal(page.status, 401, what);
    });
    const api = await b.get(PATH.sso, { accept: 'application/json' });
    assert.equal(api.status, 401);
    assert.equal(JSON.parse(api.body).error, 'unauthenticated');
  });

  test('an expired admin session is sent to sign-in, not refused', async () => {
    const old = Date.now() - 13 * 3600_000;
    const { cookie } = await staffAdmin(gw, { iat: old, seen: old, authTime: Math.floor(old / 1000) });
    const page = await new Browser(gw, HOSTS.staff, cookie).get(PATH.sso);
    assert.equal(page.status, 303);
    assert.match(page.location ?? '', /^\/\.auth\/login/);
  });

  test('a member is refused (403) on every route', async () => {
    const { cookie } = await staffAdmin(gw, { role: 'member' });
    await everyRoute(new Browser(gw, HOSTS.staff, cookie), (page, what) => {
      assert.equal(page.status, 403, what);
      assert.match(page.body, /Access denied/, what);
    });
  });

  test('an admin session whose user is no longer an admin in the store is refused', async () => {
    const { cookie, uid } = await staffAdmin(gw);
    await gw.store.updateUser('staff', uid, { role: 'member' });
    await everyRoute(new Browser(gw, HOSTS.staff, cookie), (page, what) => assert.equal(page.status, 403, what));
  });

  test('a staff admin session issued for another host is refused (403)', async () => {
    const { uid } = await staffAdmin(gw);
    const cookie = await gw.sessionCookie(HOSTS.staff, { uid, role: 'admin', host: 'old-staff.example.test' });
    await everyRoute(new Browser(gw, HOSTS.staff, cookie), (page, what) => assert.equal(page.status, 403, what));
  });

  test('a portal user is refused on the staff host (403)', async () => {
    const cookie = await gw.sessionCookie(HOSTS.acme);
    await everyRoute(new Browser(gw, HOSTS.staff, cookie), (page, what) => assert.equal(page.status, 403, what));
  });

  test('portal and central hosts do not serve the settings pages (404), even to a staff admin', async () => {
    const { cookie } = await staffAdmin(gw);
    for (const host of [HOSTS.acme, HOSTS.globex, HOSTS.central]) {
      await everyRoute(new Browser(gw, host, cookie), (page, what) => assert.equal(page.status, 404, `${host} ${what}`));
    }
    const portalUser = await gw.sessionCookie(HOSTS.acme);
    await everyRoute(new Browser(gw, HOSTS.acme, portalUser), (page, what) => assert.equal(page.status, 404, what));
  });

  test('the consent callback is served on the staff host only', async () => {
    for (const host of [HOSTS.acme, HOSTS.central]) {
      assert.equal((await new Browser(gw, host).get(`${PATH.consent}?state=x`)).status, 404, host);
    }
  });
});

describe('admin forms: CSRF', () => {
  async function enableAutoProvision(b: Browser, mutate: (form: Record<string, string>, headers: Record<string, string>) => void) {
    const page = await b.get(PATH.sso);
    const form: Record<string, string> = { csrf: csrfOf(page.body), version: versionOf(page.body), action: 'auto-provision-on' };
    const headers: Record<string, string> = { origin: `http://${HOSTS.staff}` };
    mutate(form, headers);
    return b.send('POST', PATH.sso, { form, headers });
  }

  test('missing, wrong or cross-site tokens are refused and change nothing', async () => {
    const { cookie } = await staffAdmin(gw);
    const b = new Browser(gw, HOSTS.staff, cookie);
    const attempts: Array<[string, (f: Record<string, string>, h: Record<string, string>) => void]> = [
      ['missing token', (f) => void delete f.csrf],
      ['wrong token', (f) => void (f.csrf = tampered(f.csrf!))],
      ['token of another length', (f) => void (f.csrf = 'short')],
      ['empty token', (f) => void (f.csrf = '')],
      ['cross-site Origin', (_f, h) => void (h.origin = 'https://evil.example')],
      ['cross-site fetch metadata', (_f, h) => void (h['sec-fetch-site'] = 'cross-site')],
    ];
    for (const [what, mutate] of attempts) {
      const res = await enableAutoProvision(b, mutate);
      assert.equal(res.status, 403, what);
      assert.match(res.body, /Form expired/, what);
    }
    // a form from another browser (its own flow cookie) does not work either
    const other = new Browser(gw, HOSTS.staff, (await staffAdmin(gw)).cookie);
    const foreign = csrfOf((await other.get(PATH.sso)).body);
    assert.equal((await enableAutoProvision(b, (f) => void (f.csrf = foreign))).status, 403);
    assert.equal(await gw.store.getSetting('sso.staff'), null);

    const ok = await enableAutoProvision(b, () => {});
    assert.equal(ok.status, 303);
    assert.equal((await gw.store.getSetting<{ autoProvision: boolean }>('sso.staff'))?.value.autoProvision, true);
  });

  test('a post without Origin or Sec-Fetch-Site is refused', async () => {
    const { cookie } = await staffAdmin(gw);
    const b = new Browser(gw, HOSTS.staff, cookie);
    const page = await b.get(PATH.portal('globex'));
    const res = await b.send('POST', PATH.portal('globex'), {
      form: { csrf: csrfOf(page.body), version: versionOf(page.body), action: 'save', tenantId: '', mfa: 'required' },
      headers: { origin: '' },
    });
    assert.equal(res.status, 403);
  });
});
