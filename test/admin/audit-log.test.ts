// The audit log page: events in words, people by email, filters (realm, person, event, dates), pages, CSV export — never a secret.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestGateway } from '../support/gateway.ts';
import { Browser, HOSTS, PATH, STAFF_APP, TENANTS, staffAdmin, startAdminGateway } from './helpers.ts';

let gw: TestGateway;
let admin: Browser;
let email: string;

before(async () => {
  gw = await startAdminGateway({ transport: 'inject' });
  const a = await staffAdmin(gw);
  email = a.email;
  admin = new Browser(gw, HOSTS.staff, a.cookie);
  assert.equal(
    (await admin.submit(PATH.sso, { action: 'save', tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret })).status,
    303,
  );
  assert.equal((await admin.submit(PATH.portal('acme'), { action: 'save', tenantId: TENANTS.acme, mfa: 'default' })).status, 303);
});
after(async () => {
  admin.assertNeverSaw(STAFF_APP.clientSecret);
  await gw.close();
});

function rows(body: string): string[] {
  return [...body.matchAll(/<tr><td class="nowrap">[\s\S]*?<\/tr>/g)].map((m) => m[0]);
}

test('lists settings changes with who, when and what (the secret only as “set”)', async () => {
  const page = await admin.get(PATH.audit);
  assert.equal(page.status, 200);
  assert.match(page.body, /Settings → Audit log/);
  const changes = rows(page.body).filter((r) => r.includes('<code>settings.change</code>'));
  assert.equal(changes.length, 2);
  assert.ok(
    changes.every((r) => r.includes(email)),
    'actor shown by email',
  );
  const staffRow = changes.find((r) => r.includes('<td>Staff</td>'))!;
  assert.match(staffRow, /<strong>Saved the SSO settings<\/strong>/);
  assert.match(staffRow, /clientSecret: set/);
  assert.match(staffRow, new RegExp(`tenantId: null → &quot;${TENANTS.staff}&quot;`));
  assert.match(staffRow, /\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  assert.ok(changes.some((r) => r.includes('<td>Portal: Acme Corp</td>') && r.includes('Changed the portal authentication of acme')));
});

test('filters by type and realm; unknown filter values are ignored', async () => {
  await gw.core.auditor.record({
    type: 'signin',
    outcome: 'success',
    realm: 'staff',
    userId: null,
    actor: null,
    ip: '127.0.0.1',
    details: { method: 'password' },
  });
  const signins = rows((await admin.get(`${PATH.audit}?type=signin`)).body);
  assert.equal(signins.length, 1);
  assert.match(signins[0]!, /<code>signin<\/code>/);
  const acme = rows((await admin.get(`${PATH.audit}?realm=portal%3Aacme`)).body);
  assert.ok(acme.length >= 1 && acme.every((r) => r.includes('<td>Portal: Acme Corp</td>')));
  const junk = await admin.get(`${PATH.audit}?type=%3Cscript%3E&realm=nope`);
  assert.equal(junk.status, 200);
  assert.doesNotMatch(junk.body, /<script>/);
  assert.ok(rows(junk.body).length >= 3);
  assert.match((await admin.get(`${PATH.audit}?type=lockout`)).body, /No events match these filters/);
});

test('pages of 50 events; secret-named details are masked', async () => {
  for (let i = 0; i < 110; i++) {
    await gw.store.appendAudit({
      at: Date.now() + i,
      type: 'bulk.test',
      outcome: 'info',
      realm: 'staff',
      userId: null,
      actor: null,
      ip: null,
      details: { n: i, clientSecret: 'must-not-show', password: 'hunter2' },
    });
  }
  const page = await admin.get(`${PATH.audit}?type=bulk.test`);
  const r = rows(page.body);
  assert.equal(r.length, 50);
  assert.match(r[0]!, /<dd>109<\/dd>/);
  assert.match(page.body, /href="\/\.auth\/admin\/audit\?type=bulk\.test&amp;page=2" rel="next"/);
  assert.doesNotMatch(page.body, /must-not-show|hunter2/);
  assert.match(page.body, /\[hidden\]/);
  const third = rows((await admin.get(`${PATH.audit}?type=bulk.test&page=3`)).body);
  assert.equal(third.length, 10);
  assert.match(third[9]!, /<dd>0<\/dd>/);
});

test('events in words; people by email in every realm; person and date filters', async () => {
  const pat = await gw.store.createUser({ realm: 'portal:acme', email: 'pat@acme.test', displayName: 'Pat', role: 'member' });
  const at = Date.parse('2031-05-06T10:00:00Z');
  const ev = (type: string, outcome: 'success' | 'failure' | 'info', details: Record<string, unknown>, t = at) =>
    gw.store.appendAudit({
      at: t,
      type,
      outcome,
      realm: 'portal:acme',
      userId: pat.id,
      actor: type.startsWith('user.') ? 'cli' : pat.id,
      ip: '192.0.2.7',
      details,
    });
  await ev('signin', 'success', { method: 'sso' });
  await ev('lockout', 'info', { step: 'totp', until: at + 1 });
  await ev('user.link', 'success', { tid: 'x', oid: 'y' });
  await ev('signin', 'success', { method: 'password', amr: ['pwd', 'otp'] }, at + 2 * 86_400_000);
  const page = await admin.get(`${PATH.audit}?person=PAT%40acme.test&from=2031-05-06&to=2031-05-06`);
  const r = rows(page.body);
  assert.equal(r.length, 3);
  assert.match(r.join(''), /Signed in with Microsoft/);
  assert.match(r.join(''), /Locked out after 5 failed codes/);
  assert.match(r.join(''), /Linked a Microsoft account/);
  assert.ok(
    r.every((row) => row.includes('pat@acme.test')),
    'the person by email, not a UUID',
  );
  assert.ok(!r.join('').includes(pat.id));
  assert.match(
    r.find((row) => row.includes('Linked'))!,
    /Command line \(CLI\)/,
  );
  assert.equal(rows((await admin.get(`${PATH.audit}?person=${pat.id}`)).body).length, 4, 'a link from the People page names the account by id');
  assert.match((await admin.get(`${PATH.audit}?person=nobody%40acme.test`)).body, /No events match these filters/);
  // the SSO toggle in words
  await gw.core.auditor.record({
    type: 'settings.change',
    outcome: 'success',
    realm: 'staff',
    userId: null,
    actor: null,
    ip: null,
    details: { setting: 'sso.staff', action: 'enabled' },
  });
  assert.match((await admin.get(`${PATH.audit}?type=settings.change`)).body, /Turned SSO on/);
});

test('CSV export: the filtered events, quoted, formula cells made inert, no secrets', async () => {
  const evil = await gw.store.createUser({ realm: 'staff', email: '=HYPERLINK("http://x.test")@evil.test', displayName: 'x', role: 'member' });
  await gw.store.appendAudit({
    at: Date.parse('2031-07-01T00:00:00Z'),
    type: 'signin.failure',
    outcome: 'failure',
    realm: 'staff',
    userId: evil.id,
    actor: evil.id,
    ip: '+1',
    details: { method: 'password', reason: '-2+3,"quoted"\nline', password: 'hunter2' },
  });
  const res = await admin.get(`/.auth/admin/audit.csv?type=signin.failure&from=2031-07-01&to=2031-07-01`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/csv/);
  assert.match(String(res.headers['content-disposition']), /^attachment; filename="regentra-audit-\d{4}-\d\d-\d\d\.csv"$/);
  const lines = res.body.replace(/^\ufeff/, '').split('\r\n');
  assert.equal(lines[0], 'time,event,description,outcome,realm,who,account,ip,details');
  assert.equal(lines.length, 3, 'header, one event, final newline');
  const row = lines[1]!;
  assert.match(row, /^2031-07-01T00:00:00\.000Z,signin\.failure,/);
  assert.ok(row.includes(`"'=hyperlink(""http://x.test"")@evil.test"`), 'an email that looks like a formula is prefixed and quoted');
  assert.ok(row.includes(",'+1,"), 'the ip cell starting with + is prefixed');
  assert.ok(row.includes('""quoted""'), 'quotes doubled inside a quoted cell');
  assert.doesNotMatch(res.body, /hunter2/);
  assert.equal((await new Browser(gw, HOSTS.acme).get('/.auth/admin/audit.csv')).status, 404);
});
