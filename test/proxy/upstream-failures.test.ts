/**
 * Upstream failures: an upstream that is down is a 502, one slower than the site's
 * timeouts.responseMs is a 504 — a page for browsers, JSON for APIs — and the
 * gateway keeps serving afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import { closedPort } from '../support/upstream.ts';

type Raw = RawConfig;

describe('upstream failures', () => {
  let gw: TestGateway;
  before(async () => {
    const dead = await closedPort();
    gw = await startGateway({
      configure: (r: Raw) => {
        r.sites.staff.timeouts = { connectMs: 1_000, responseMs: 300 };
        // globex's portal points at a port where nothing listens
        r.sites.portal.clients[1].upstream = `http://127.0.0.1:${dead}`;
        return r;
      },
    });
  });
  after(() => gw.close());

  test('an upstream that is down → 502 JSON for an API client', async () => {
    const cookie = await gw.sessionCookie(HOSTS.globex);
    const res = await gw.request(HOSTS.globex, '/api/tickets', { cookie, headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 502);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = (await res.body.json()) as { error: string; message: string; requestId: string };
    assert.equal(body.error, 'upstream_down');
    assert.equal(body.requestId, res.headers['x-request-id']);
    assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1|ECONNREFUSED/, 'nothing internal leaks');
  });

  test('an upstream that is down → 502 page for a browser', async () => {
    const cookie = await gw.sessionCookie(HOSTS.globex);
    const res = await gw.request(HOSTS.globex, '/', { cookie, headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 502);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const page = await res.body.text();
    assert.match(page, /Application unavailable/);
    assert.match(page, /Globex/);
    assert.doesNotMatch(page, /127\.0\.0\.1|ECONNREFUSED/);
  });

  test('an upstream slower than timeouts.responseMs → 504', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    gw.staffUpstream.delayMs = 3_000;
    try {
      const api = await gw.request(HOSTS.staff, '/slow', { cookie });
      assert.equal(api.statusCode, 504);
      assert.equal(((await api.body.json()) as { error: string }).error, 'upstream_timeout');
      const page = await gw.request(HOSTS.staff, '/slow', { cookie, headers: { accept: 'text/html' } });
      assert.equal(page.statusCode, 504);
      assert.match(await page.body.text(), /Application timed out/);
    } finally {
      gw.staffUpstream.delayMs = 0;
    }
  });

  test('the failures are counted in the metrics', async () => {
    const metrics = await gw.core.metrics.registry.getSingleMetricAsString('regentra_upstream_errors_total');
    assert.match(metrics, /regentra_upstream_errors_total\{site="portal",kind="unavailable"\} [1-9]/);
    assert.match(metrics, /regentra_upstream_errors_total\{site="staff",kind="timeout"\} [1-9]/);
  });

  test('the gateway stays healthy afterwards', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    for (let i = 0; i < 20; i++) {
      const res = await gw.request(HOSTS.staff, `/after/${i}`, { cookie });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }
    const acme = await gw.request(HOSTS.acme, '/assets/x');
    assert.equal(acme.statusCode, 200);
    await acme.body.dump();
    const jwks = await gw.request(HOSTS.staff, '/.auth/jwks.json');
    assert.equal(jwks.statusCode, 200);
    await jwks.body.dump();
  });
});
