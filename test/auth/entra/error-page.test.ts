/**
 * A refused Microsoft sign-in is shown after a redirect (post/redirect/get): the callback
 * answers 303 to /.auth/error, which renders the refusal kept in the encrypted flow cookie.
 * A reload shows the same message and reference (before: the reload replayed the callback
 * and said "already used"), the page's URL carries no code or state, API clients still get
 * JSON at the callback, and a new sign-in forgets the old refusal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PATHS } from '../../../src/routing/reserved.ts';
import { assertErrorPage, HOSTS, startEnv, USERS, type Env } from './support.ts';

describe('the sign-in error page', () => {
  let env: Env;
  before(async () => {
    // no auto-provisioning: a new person's sign-in is refused after the code was redeemed
    env = await startEnv({ staff: { autoProvision: false } });
  });
  after(() => env.close());

  test('a refusal after the code was redeemed: 303 to /.auth/error; a reload shows the same page, not "already used"', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.grace.oid);
    const redirect = await browser.openOnce(callback);
    assert.equal(redirect.status, 303);
    assert.equal(redirect.location, `http://${HOSTS.staff}${PATHS.error}`);
    assert.equal(redirect.headers['cache-control'], 'no-store');
    assert.equal(redirect.body.includes(callback.searchParams.get('code') ?? '\0'), false);

    const shown = await browser.open(redirect.location);
    assert.equal(shown.status, 403);
    assert.match(shown.body, /not linked to a Regentra account yet/);
    const reference = /Reference: ([^ ]+) · ([^<]+)</.exec(shown.body);
    assert.ok(reference, 'a reference on the page');
    assert.equal(reference[1], redirect.headers['x-request-id'], 'the reference is the refused request’s (it is in the logs)');
    for (const secret of [callback.searchParams.get('code'), callback.searchParams.get('state')])
      assert.ok(secret && !shown.body.includes(secret), 'no code or state on the page');

    // reload: the same words, the same reference
    const again = await browser.open(redirect.location);
    assert.equal(again.status, 403);
    assert.match(again.body, /not linked to a Regentra account yet/);
    assert.doesNotMatch(again.body, /already been used/);
    assert.ok(again.body.includes(`Reference: ${reference[1]} · ${reference[2]}<`));

    // reloading the callback URL itself (the browser's history) is refused, and still not as a misleading page at that URL
    const replay = await browser.openOnce(callback);
    assert.equal(replay.status, 303);
    assert.equal(replay.location, `http://${HOSTS.staff}${PATHS.error}`);
  });

  test('an AADSTS error: the page after the redirect explains it; API clients get JSON at the callback', async () => {
    const browser = env.browser();
    const state = (await browser.start(HOSTS.staff)).searchParams.get('state') ?? '';
    const url = `http://${HOSTS.staff}${PATHS.callback}?error=access_denied&error_description=${encodeURIComponent('AADSTS65004: declined')}&state=${encodeURIComponent(state)}`;
    const page = await browser.open(url);
    assert.ok(page.redirectedFrom, 'shown after a redirect');
    assertErrorPage(page, 400, /AADSTS65004/);
    assert.equal(page.url.pathname, PATHS.error);

    const api = await env.browser().openOnce(url, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 400);
    assert.equal(JSON.parse(api.body).error, 'sso_idp_error');
  });

  test('without a refusal to show, /.auth/error says so and links to sign-in; a new sign-in forgets an old refusal', async () => {
    const fresh = await env.browser().open(`http://${HOSTS.staff}${PATHS.error}`);
    assert.equal(fresh.status, 404);
    assert.match(fresh.body, /No sign-in to report/);
    assert.match(fresh.body, /href="\/\.auth\/login"/);

    const browser = env.browser();
    const refused = await browser.open(await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.grace.oid));
    assert.equal(refused.status, 403);
    await browser.start(HOSTS.staff); // a new attempt: a new flow
    assert.equal((await browser.open(`http://${HOSTS.staff}${PATHS.error}`)).status, 404);
  });
});
