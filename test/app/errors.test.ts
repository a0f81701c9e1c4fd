/**
 * One way to fail: code anywhere throws a GatewayError with a catalogue code, and the app's
 * error handler answers it, as a page for a browser and as JSON for an API client, with the
 * catalogue's status; anything unexpected fails closed with the generic page and nothing of
 * the error in it. Route-level: through inject(), no socket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
before(async () => {
  gw = await startGateway({
    transport: 'inject',
    beforeListen(app) {
      app.get('/__test/limited', () => {
        throw new GatewayError('RATE_LIMITED', 'Try again in 7 seconds.', { presentation: { headers: { 'retry-after': '7' } } });
      });
      app.get('/__test/sign-in', () => {
        throw new GatewayError('UNAUTHENTICATED', undefined, { presentation: { redirectPage: '/.auth/login?rd=%2Fhere' } });
      });
      app.post('/__test/form', () => {
        throw new GatewayError('CSRF', undefined, { presentation: { html: true, next: { href: '/.auth/login', label: 'Sign in again' } } });
      });
      app.get('/__test/bug', () => {
        throw new Error('connect ECONNREFUSED postgres://gateway:hunter2@db.internal:5432/regentra');
      });
    },
  });
});
after(() => gw.close());

const PAGE = { accept: 'text/html,application/xhtml+xml' };
const API = { accept: 'application/json' };

describe('coded errors, rendered by the error handler', () => {
  test('a browser gets the page: the catalogue status and title, the detail, the headers, a reference', async () => {
    const res = await gw.inject(HOSTS.staff, '/__test/limited', { headers: PAGE });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '7');
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<h1>Too many attempts<\/h1>/);
    assert.match(res.body, /Try again in 7 seconds\./);
    assert.match(res.body, /Reference: [0-9a-f-]{36}/);
  });

  test('an API client gets JSON with the same code, status and detail', async () => {
    const res = await gw.inject(HOSTS.staff, '/__test/limited', { headers: API });
    assert.equal(res.statusCode, 429);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(body.error, 'rate_limited');
    assert.equal(body.detail, 'Try again in 7 seconds.');
    assert.equal(body.requestId, res.headers['x-request-id']);
  });

  test('a page that needs a sign-in redirects a browser, and is a 401 for an API client', async () => {
    const page = await gw.inject(HOSTS.staff, '/__test/sign-in', { headers: PAGE });
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/.auth/login?rd=%2Fhere');
    const api = await gw.inject(HOSTS.staff, '/__test/sign-in', { headers: API });
    assert.equal(api.statusCode, 401);
    assert.equal((JSON.parse(api.body) as { error: string }).error, 'unauthenticated');
  });

  test('a form post from a browser gets the page with a way on, whatever it accepts', async () => {
    const res = await gw.inject(HOSTS.staff, '/__test/form', { method: 'POST', headers: { accept: '*/*' } });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /<h1>Form expired<\/h1>/);
    assert.match(res.body, /<a class="btn" href="\/\.auth\/login">Sign in again<\/a>/);
  });

  test('an unexpected error fails closed: the generic 500, nothing of the error shown', async () => {
    for (const headers of [PAGE, API]) {
      const res = await gw.inject(HOSTS.staff, '/__test/bug', { headers });
      assert.equal(res.statusCode, 500);
      assert.doesNotMatch(res.body, /hunter2|ECONNREFUSED|postgres:|db\.internal|at .*\.ts/);
      assert.match(res.body, /Something went wrong/);
    }
  });
});
