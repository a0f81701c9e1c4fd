// Settings → Portal → Authentication (per client), the admin consent link and its callback.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeEntra } from '../../dev/fake-entra/index.ts';
import type { TestGateway } from '../support/gateway.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey, type PortalAuthSettings } from '../../src/auth/policy.ts';
import { Browser, HOSTS, PATH, PORTAL_APP, TENANTS, staffAdmin, startAdminGateway, startEntra, unescapeHtml } from './helpers.ts';
import { tampered } from '../support/tamper.ts';

let entra: FakeEntra;
let gw: TestGateway;
let admin: Browser;
let clock = Date.now();

async function acme(): Promise<PortalAuthSettings> {
  return { ...DEFAULT_PORTAL_AUTH, ...((await gw.store.getSetting<PortalAuthSettings>(portalAuthKey('acme')))?.value ?? {}) };
}

function save(b: Browser, client: string, fields: Record<string, string>) {
  return b.submit(PATH.portal(client), { action: 'save', mfa: 'default', ...fields });
}

/** The admin consent link shown on the client's page. */
async function consentLink(client = 'acme'): Promise<URL> {
  const page = await admin.get(PATH.portal(client));
  const m = /id="consent-link" type="text" readonly value="([^"]+)"/.exec(page.body);
  assert.ok(m, 'the page shows the consent link');
  assert.match(page.body, /data-copy="consent-link">Copy</);
  return new URL(unescapeHtml(m[1] as string));
}

/** What the consent callback answers for `url` (a URL on the staff host), with no session. */
function callback(url: URL) {
  assert.equal(url.host, HOSTS.staff);
  return new Browser(gw, HOSTS.staff).get(`${url.pathname}${url.search}`);
}

before(async () => {
  entra = await startEntra();
  gw = await startAdminGateway({ entra, now: () => clock, transport: 'inject' });
});
after(async () => {
  await gw.close();
  await entra.close();
});
beforeEach(async () => {
  clock = Date.now();
  for (const id of ['acme', 'globex']) await gw.store.putSetting(portalAuthKey(id), DEFAULT_PORTAL_AUTH);
  gw.core.policy.invalidate();
  admin = new Browser(gw, HOSTS.staff, (await staffAdmin(gw)).cookie);
});

describe('portal authentication settings', () => {
  test('the sidebar switcher lists the clients and navigates without script', async () => {
    const page = await admin.get(PATH.portal('globex'));
    assert.equal(page.status, 200);
    assert.match(
      page.body,
      /<select id="client-switch" name="client" data-autosubmit aria-describedby="client-switch-hint"><option value="acme">Acme Corp<\/option><option value="globex" selected>Globex<\/option><option value="initech">Initech<\/option><\/select>/,
    );
    assert.match(page.body, /<form method="get" action="\/\.auth\/admin\/portal\/switch"/);
    assert.match(page.body, /Settings → Portal → Globex → Authentication/);
    assert.match(unescapeHtml(page.body), /no additional app registration is needed in the client’s tenant/);
    const sw = await admin.get('/.auth/admin/portal/switch?client=acme');
    assert.equal(sw.status, 303);
    assert.equal(sw.location, PATH.portal('acme'));
    assert.equal((await admin.get('/.auth/admin/portal/switch?client=umbrella')).status, 404);
    assert.equal((await admin.get('/.auth/admin/portal/')).location, PATH.portal('acme'));
  });

  test('the chosen client stays selected on every settings page (SSO, audit log), for this session only', async () => {
    const selected = (body: string) => /<option value="([a-z]+)" selected>/.exec(body)?.[1];
    // before any choice: the first client
    assert.equal(selected((await admin.get(PATH.sso)).body), 'acme');
    const sw = await admin.get('/.auth/admin/portal/switch?client=initech');
    assert.equal(sw.location, PATH.portal('initech'));
    for (const path of [PATH.sso, PATH.audit, PATH.portal('initech')]) {
      const page = await admin.get(path);
      assert.equal(page.status, 200, path);
      assert.equal(selected(page.body), 'initech', path);
      assert.match(
        page.body,
        /<a href="\/\.auth\/admin\/portal\/initech\/authentication"/,
        `${path}: the sidebar's Authentication link is the chosen client's`,
      );
    }
    assert.equal((await admin.get('/.auth/admin/portal/')).location, PATH.portal('initech'));
    // opening another client's page directly chooses it too
    await admin.get(PATH.portal('globex'));
    assert.equal(selected((await admin.get(PATH.audit)).body), 'globex');
    // another session (a new sign-in) starts from the first client again
    const other = new Browser(gw, HOSTS.staff, (await staffAdmin(gw)).cookie);
    assert.equal(selected((await other.get(PATH.sso)).body), 'acme');
  });

  test('the tenant ID must be a GUID', async () => {
    for (const bad of ['acme.onmicrosoft.com', '22222222-2222-4222-8222-22222222222', `${TENANTS.acme}x`]) {
      const res = await save(admin, 'acme', { tenantId: bad });
      assert.equal(res.status, 400, bad);
      assert.match(res.body, /The tenant ID must be a GUID/);
    }
    assert.equal((await acme()).tenantId, null);
  });

  test('the personal-accounts tenant is not a client’s directory', async () => {
    const res = await save(admin, 'acme', { tenantId: '9188040D-6C67-4C5B-B112-36A304B66DAD', ssoEnabled: 'on', passwordAllowed: 'on' });
    assert.equal(res.status, 400);
    assert.match(unescapeHtml(res.body), /is the tenant of personal Microsoft accounts/);
    assert.equal((await acme()).tenantId, null);
  });

  test('lists every redirect URI of Regentra’s portal app, each with a copy button', async () => {
    const body = unescapeHtml((await admin.get(PATH.portal('acme'))).body);
    const uris = [...body.matchAll(/<input id="portal-redirect-uri-(\d+)" type="text" readonly value="([^"]+)"/g)].map((m) => m[2]);
    // this gateway has a central callback host: the one callback for every portal
    const central = gw.config.sites.portal?.centralCallbackHost;
    assert.ok(central);
    for (const uri of [
      `http://${central}/.auth/callback`,
      `http://${HOSTS.acme}/.auth/signed-out`,
      `http://${HOSTS.globex}/.auth/signed-out`,
      `http://${HOSTS.staff}/.auth/consent/callback`,
    ]) {
      assert.ok(uris.includes(uri), `${uri} in ${uris.join(', ')}`);
    }
    assert.ok(!uris.includes(`http://${HOSTS.acme}/.auth/callback`));
    assert.match(body, /data-copy="portal-redirect-uri-0">Copy</);
    assert.match(body, /Wildcard hosts \(\*\./);
  });

  test('enabling Entra SSO is refused without a tenant ID', async () => {
    const res = await save(admin, 'acme', { tenantId: '', ssoEnabled: 'on', passwordAllowed: 'on' });
    assert.equal(res.status, 409);
    assert.match(unescapeHtml(res.body), /Enter the client’s Azure AD tenant ID to enable Entra SSO/);
    assert.equal((await acme()).ssoEnabled, false);
  });

  test('save: tenant, SSO on, password off — policy, audit, and every replica; a posted "TOTP not required" changes nothing', async () => {
    const res = await save(admin, 'acme', { tenantId: TENANTS.acme.toUpperCase(), ssoEnabled: 'on', mfa: 'optional' });
    assert.equal(res.status, 303);
    assert.equal(res.location, `${PATH.portal('acme')}?done=saved`);
    const s = await acme();
    assert.equal(s.tenantId, TENANTS.acme);
    assert.deepEqual([s.ssoEnabled, s.passwordAllowed, 'mfaRequired' in s], [true, false, false]);
    const site = gw.core.sites.lookup(HOSTS.acme)!;
    assert.deepEqual(await gw.core.policy.forSite(site), { sso: true, password: false });
    const [event] = await gw.store.listAudit({ type: 'settings.change', realm: 'portal:acme', limit: 1 });
    assert.equal(event?.outcome, 'success');
    assert.deepEqual(Object.keys((event?.details as { changes: object }).changes).sort(), ['passwordAllowed', 'ssoEnabled', 'tenantId']);
    const page = await admin.get(res.location);
    assert.match(page.body, /Saved\./);
    assert.doesNotMatch(page.body, /Not required/);
    assert.match(page.body, /always asks for a code from an authenticator app/);
    assert.match(page.body, /nobody can sign in to this portal/);
    // the other clients are untouched
    assert.equal((await gw.core.policy.forSite(gw.core.sites.lookup(HOSTS.globex)!)).sso, false);
  });

  test('enabling is refused when Regentra’s multi-tenant app is not configured', async () => {
    const bare = await startAdminGateway({ portalApp: false });
    try {
      const b = new Browser(bare, HOSTS.staff, (await staffAdmin(bare)).cookie);
      const page = await b.get(PATH.portal('acme'));
      assert.match(page.body, /sites\.portal\.entra/);
      assert.doesNotMatch(page.body, /id="consent-link"/);
      const res = await b.submit(PATH.portal('acme'), { action: 'save', mfa: 'default', tenantId: TENANTS.acme, ssoEnabled: 'on' });
      assert.equal(res.status, 409);
      assert.match(res.body, /Entra SSO cannot be enabled/);
    } finally {
      await bare.close();
    }
  });
});

describe('admin consent', () => {
  beforeEach(async () => {
    assert.equal((await save(admin, 'acme', { tenantId: TENANTS.acme, ssoEnabled: 'on', passwordAllowed: 'on' })).status, 303);
  });

  test('the link names Regentra’s portal app, the staff consent callback and a signed state', async () => {
    const url = await consentLink();
    assert.equal(`${url.origin}${url.pathname}`, `${entra.url}/${TENANTS.acme}/v2.0/adminconsent`);
    assert.equal(url.searchParams.get('client_id'), PORTAL_APP.clientId);
    assert.equal(url.searchParams.get('redirect_uri'), `http://${HOSTS.staff}${PATH.consent}`);
    assert.match(url.searchParams.get('state') ?? '', /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.match((await admin.get(PATH.portal('acme'))).body, /Not yet/);
  });

  test('granted: recorded with time and tenant, a thank-you page, audited', async () => {
    const back = await entra.follow(await consentLink());
    assert.equal(back.searchParams.get('admin_consent'), 'True');
    const page = await callback(back);
    assert.equal(page.status, 200);
    assert.match(unescapeHtml(page.body), /Thank you — consent granted for Acme Corp/);
    const s = await acme();
    assert.equal(s.consent.status, 'granted');
    assert.equal(s.consent.tenantId, TENANTS.acme);
    assert.equal(s.consent.at, clock);
    // both facts are kept: the callback said an administrator consented, and the app-only token proved the app is there
    assert.equal(s.consent.adminConsent, true);
    assert.equal(s.consent.appPresent, true);
    assert.match(unescapeHtml(page.body), /Microsoft confirmed that the Regentra portal app is present in Acme Corp’s directory/);
    const settingsPage = unescapeHtml((await admin.get(PATH.portal('acme'))).body);
    assert.match(
      settingsPage,
      new RegExp(`Regentra’s app is present in tenant <code>${TENANTS.acme}</code> \\(confirmed with Microsoft\\); consented by an administrator on \\d{4}-`),
    );
    const [event] = await gw.store.listAudit({ type: 'portal.consent', limit: 1 });
    assert.equal(event?.outcome, 'success');
    assert.equal(event?.realm, 'portal:acme');
    assert.equal(event?.details.appPresent, true);
  });

  test('the status says only what was checked: presence alone, or an old record, claims no administrator consent', async () => {
    const put = async (consent: PortalAuthSettings['consent']) => {
      await gw.store.putSetting(portalAuthKey('acme'), { ...(await acme()), consent });
      gw.core.policy.invalidate();
      return unescapeHtml((await admin.get(PATH.portal('acme'))).body);
    };
    const present = await put({ status: 'granted', at: clock, tenantId: TENANTS.acme, error: null, adminConsent: false, appPresent: true });
    assert.match(present, new RegExp(`Regentra’s app is present in tenant <code>${TENANTS.acme}</code> \\(confirmed on \\d{4}-`));
    assert.doesNotMatch(present, /consented by an administrator/);
    const old = await put({ status: 'granted', at: clock, tenantId: TENANTS.acme, error: null });
    assert.doesNotMatch(old, /consented by an administrator|is present in tenant/);
    assert.match(old, /Open the admin consent link again to confirm it/);
  });

  test('declined (AADSTS65004): recorded as failed with the fix', async () => {
    const back = await entra.follow(await consentLink(), { cancel: true });
    assert.match(back.searchParams.get('error_description') ?? '', /AADSTS65004/);
    const page = await callback(back);
    assert.equal(page.status, 200);
    assert.match(page.body, /Consent was not granted/);
    assert.match(page.body, /AADSTS65004/);
    // the reader is Acme's Azure AD administrator: what happened, how to retry, whom to ask — not Regentra's settings
    const words = unescapeHtml(page.body);
    assert.match(words, /The permission request was declined/);
    assert.match(words, /ask the support team that sent you the admin consent link for a new one \(each link can be used once\), open it and select Accept/);
    assert.match(words, /contact the support team that sent you the admin consent link/);
    assert.doesNotMatch(words, /Settings →|Portal → Authentication|API permissions|Grant admin consent|Regentra contact/);
    const s = await acme();
    assert.equal(s.consent.status, 'failed');
    assert.match(s.consent.error ?? '', /^AADSTS65004: /);
    // Microsoft's ids from the redirect's error_description, for Microsoft support
    const correlationId = /Correlation ID: ([0-9a-f-]{36})/.exec(back.searchParams.get('error_description') ?? '')?.[1];
    assert.ok(correlationId);
    assert.equal(s.consent.microsoft?.correlationId, correlationId);
    assert.match(page.body, new RegExp(`Correlation ID <code>${correlationId}</code>`));
    const settingsPage = unescapeHtml((await admin.get(PATH.portal('acme'))).body);
    assert.match(settingsPage, /Consent failed on .*AADSTS65004/);
    assert.match(settingsPage, /How to fix it:/);
    assert.match(settingsPage, new RegExp(`Correlation ID <code>${correlationId}</code>`));
  });

  test('a grant Microsoft does not confirm (no consent in that tenant) is not recorded as granted', async () => {
    // the link's state is genuine, but the admin never approved: the answer is made up in the browser
    entra.revokeConsent(TENANTS.acme, PORTAL_APP.clientId);
    const link = await consentLink();
    const forged = new URL(
      `http://${HOSTS.staff}${PATH.consent}?admin_consent=True&tenant=${TENANTS.acme}&state=${encodeURIComponent(link.searchParams.get('state')!)}`,
    );
    const page = await callback(forged);
    assert.equal(page.status, 200);
    assert.match(page.body, /Consent was not confirmed/);
    assert.match(page.body, /AADSTS7000229/, "Microsoft's answer is shown for the administrator");
    assert.match(page.body, /Trace ID <code>[0-9a-f-]{36}<\/code>/);
    const s = await acme();
    assert.equal(s.consent.status, 'failed');
    assert.equal(s.consent.adminConsent, true);
    assert.equal(s.consent.appPresent, false);
    assert.match(s.consent.microsoft?.traceId ?? '', /^[0-9a-f-]{36}$/);
    const [event] = await gw.store.listAudit({ type: 'portal.consent', limit: 1 });
    assert.equal(event?.outcome, 'failure');
    // a real approval afterwards is confirmed and recorded
    const back = await entra.follow(await consentLink());
    assert.equal((await callback(back)).status, 200);
    assert.equal((await acme()).consent.status, 'granted');
  });

  test('Microsoft unreachable while confirming: a 503 page, nothing recorded', async () => {
    const before = (await acme()).consent;
    const back = await entra.follow(await consentLink());
    entra.setDown(true);
    try {
      const page = await callback(back);
      assert.equal(page.status, 503);
      assert.match(page.body, /Consent could not be confirmed yet/);
    } finally {
      entra.setDown(false);
    }
    assert.deepEqual((await acme()).consent, before, 'nothing recorded');
  });

  test('a forged, foreign or expired state is refused and nothing is recorded', async () => {
    const link = await consentLink();
    const state = link.searchParams.get('state')!;
    const [, payload, mac] = state.split('.') as [string, string, string];
    const otherPayload = Buffer.from(JSON.stringify(['acme', TENANTS.globex, Math.floor(clock / 1000) + 3600, 'x'])).toString('base64url');
    const forged = [`v1.${otherPayload}.${mac}`, `v1.${payload}.${tampered(mac)}`, `v1.${payload}`, 'v1..', ''];
    for (const s of forged) {
      const page = await callback(new URL(`http://${HOSTS.staff}${PATH.consent}?admin_consent=True&tenant=${TENANTS.acme}&state=${encodeURIComponent(s)}`));
      assert.equal(page.status, 400, s);
      assert.match(page.body, /This consent link is not valid/);
    }
    // a state from another gateway (other keys) is not valid here
    const other = await startAdminGateway();
    try {
      await other.store.putSetting(portalAuthKey('acme'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.acme });
      const ob = new Browser(other, HOSTS.staff, (await staffAdmin(other)).cookie);
      const m = /id="consent-link" type="text" readonly value="([^"]+)"/.exec((await ob.get(PATH.portal('acme'))).body);
      const foreign = new URL(unescapeHtml(m![1]!)).searchParams.get('state')!;
      const page = await callback(
        new URL(`http://${HOSTS.staff}${PATH.consent}?admin_consent=True&tenant=${TENANTS.acme}&state=${encodeURIComponent(foreign)}`),
      );
      assert.equal(page.status, 400);
    } finally {
      await other.close();
    }
    // expired after a few days
    const back = await entra.follow(link);
    clock += 4 * 24 * 3600_000;
    const expired = await callback(back);
    assert.equal(expired.status, 400);
    assert.match(expired.body, /This consent link has expired/);
    assert.equal((await acme()).consent.status, 'none');
  });

  test('a link answers once: its state replayed, on this replica or another one, is refused and changes nothing', async () => {
    const link = await consentLink();
    const state = encodeURIComponent(link.searchParams.get('state')!);
    const back = await entra.follow(link);
    assert.equal((await callback(back)).status, 200);
    assert.equal((await acme()).consent.status, 'granted');
    const grantedAt = (await acme()).consent.at;
    // the shared link's state, replayed with a made-up error (no Microsoft involved), here and on a second replica
    const replica = await startAdminGateway({ entra, store: gw.store, now: () => clock, keys: gw.config.keys as unknown as Record<string, unknown> });
    try {
      for (const target of [gw, replica]) {
        for (const query of [`error=access_denied&error_description=AADSTS65004&state=${state}`, back.search.slice(1)]) {
          const page = await new Browser(target, HOSTS.staff).get(`${PATH.consent}?${query}`);
          assert.equal(page.status, 400, query);
          assert.match(page.body, /This consent link was already used/);
        }
      }
    } finally {
      await replica.close();
    }
    assert.deepEqual([(await acme()).consent.status, (await acme()).consent.at], ['granted', grantedAt], 'the confirmed grant stands');
    const used = (await gw.store.listAudit({ type: 'portal.consent', limit: 50 })).filter((e) => e.details.reason === 'link already used');
    assert.equal(used.length, 4, 'each replayed answer is audited');
  });

  test('an error answer never downgrades a confirmed grant: it stays granted and the declined attempt is audited', async () => {
    assert.equal((await callback(await entra.follow(await consentLink()))).status, 200);
    const before = (await acme()).consent;
    assert.equal(before.status, 'granted');
    clock += 60_000;
    // a fresh link, declined at Microsoft (or an error made up in the browser with an unused state)
    const declined = await entra.follow(await consentLink(), { cancel: true });
    const page = await callback(declined);
    assert.equal(page.status, 200);
    assert.match(page.body, /Consent was not granted/);
    assert.match(page.body, /A consent given before stays in place/);
    assert.deepEqual((await acme()).consent, before, 'still granted, as confirmed by Microsoft');
    const kept = (await gw.store.listAudit({ type: 'portal.consent', limit: 50 })).filter((e) =>
      /declined after a confirmed grant/.test(String(e.details.reason)),
    );
    assert.equal(kept.length, 1, 'the declined attempt is audited');
    assert.equal(kept[0]?.outcome, 'failure');
    assert.equal(kept[0]?.details.error, 'AADSTS65004');
    const made = await callback(
      new URL(`http://${HOSTS.staff}${PATH.consent}?error=access_denied&state=${encodeURIComponent((await consentLink()).searchParams.get('state')!)}`),
    );
    assert.equal(made.status, 200);
    assert.equal((await acme()).consent.status, 'granted');
  });

  test('consent from another tenant, or for a tenant no longer configured, is refused', async () => {
    const link = await consentLink();
    const state = encodeURIComponent(link.searchParams.get('state')!);
    const wrong = await callback(new URL(`http://${HOSTS.staff}${PATH.consent}?admin_consent=True&tenant=${TENANTS.globex}&state=${state}`));
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /Consent was granted in another directory/);
    assert.equal((await acme()).consent.status, 'none');

    // the admin changes the tenant: the old link no longer records anything, and the status was reset
    assert.equal((await save(admin, 'acme', { tenantId: TENANTS.globex, ssoEnabled: 'on', passwordAllowed: 'on' })).status, 303);
    const stale = await callback(new URL(`http://${HOSTS.staff}${PATH.consent}?admin_consent=True&tenant=${TENANTS.acme}&state=${state}`));
    assert.equal(stale.status, 400);
    assert.match(stale.body, /out of date/);
    assert.equal((await acme()).consent.status, 'none');
    const audits = await gw.store.listAudit({ type: 'portal.consent', limit: 2 });
    assert.ok(audits.every((e) => e.outcome === 'failure'));
  });
});
