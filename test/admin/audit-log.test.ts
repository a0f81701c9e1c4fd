// The audit log page: the latest 100 events, filters, who did it — never a secret.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestGateway } from '../support/gateway.ts';
import { Browser, HOSTS, PATH, STAFF_APP, TENANTS, staffAdmin, startAdminGateway } from './helpers.ts';

let gw: TestGateway;
let admin: Browser;
let email: string;

before(async () => {
  gw = await startAdminGateway();
  const a = await staffAdmin(gw);
  email = a.email;
  admin = new Browser(gw, HOSTS.staff, a.cookie);
  assert.equal((await admin.submit(PATH.sso, { action: 'save', tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret })).status, 303);
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
  assert.ok(changes.every((r) => r.includes(email)), 'actor shown by email');
  const staffRow = changes.find((r) => r.includes('<td>staff</td>'))!;
  assert.match(staffRow, /clientSecret: set/);
  assert.match(staffRow, new RegExp(`tenantId: null → &quot;${TENANTS.staff}&quot;`));
  assert.match(staffRow, /\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  assert.ok(changes.some((r) => r.includes('<td>portal:acme</td>')));
});

test('filters by type and realm; unknown filter values are ignored', async () => {
  await gw.app.gateway.auditor.record({ type: 'signin', outcome: 'success', realm: 'staff', userId: null, actor: null, ip: '127.0.0.1', details: { method: 'password' } });
  const signins = rows((await admin.get(`${PATH.audit}?type=signin`)).body);
  assert.equal(signins.length, 1);
  assert.match(signins[0]!, /<code>signin<\/code>/);
  const acme = rows((await admin.get(`${PATH.audit}?realm=portal%3Aacme`)).body);
  assert.ok(acme.length >= 1 && acme.every((r) => r.includes('<td>portal:acme</td>')));
  const junk = await admin.get(`${PATH.audit}?type=%3Cscript%3E&realm=nope`);
  assert.equal(junk.status, 200);
  assert.doesNotMatch(junk.body, /<script>/);
  assert.ok(rows(junk.body).length >= 3);
  assert.match((await admin.get(`${PATH.audit}?type=lockout`)).body, /No events match these filters/);
});

test('shows at most the latest 100 events and masks secret-named details', async () => {
  for (let i = 0; i < 110; i++) {
    await gw.store.appendAudit({ at: Date.now() + i, type: 'bulk.test', outcome: 'info', realm: 'staff', userId: null, actor: null, ip: null, details: { n: i, clientSecret: 'must-not-show', password: 'hunter2' } });
  }
  const page = await admin.get(`${PATH.audit}?type=bulk.test`);
  const r = rows(page.body);
  assert.equal(r.length, 100);
  assert.match(r[0]!, /<dd>109<\/dd>/);
  assert.doesNotMatch(page.body, /must-not-show|hunter2/);
  assert.match(page.body, /\[hidden\]/);
});
