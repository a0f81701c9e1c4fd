/**
 * Local sign-in (email + password + TOTP), attacked:
 *
 * - user enumeration by message (every wrong answer is the same page) and by timing
 *   (a Mann-Whitney test over ~40 interleaved samples per path; its power is shown on
 *   a path that really skips the hash);
 * - TOTP replay and brute force across replicas: two gateways on one PostgreSQL
 *   database, the same code at the same moment, wrong codes spread over both, and a
 *   burst of concurrent guesses where the right one is checked after the wrong ones
 *   have locked the account (the lock must hold: no session, no "right password" answer);
 * - the same burst on the password step;
 * - session fixation: cookies planted before sign-in are not the ones after;
 * - CSRF on every state-changing route the gateway has (enumerated from the router).
 * Lockout bypass by email case and spacing is test/auth/password/lockout.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import type { Store, User } from '../../src/store/types.ts';
import { HOSTS, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import { alertOf, Client, codeAt, csrfOf, PASSWORD, signIn, submitPassword } from '../auth/password/flow.ts';
import { hashPassword } from '../../src/auth/password/hash.ts';
import { enrolTotp } from '../../dev/seed.ts';
import { DATABASE_URL, dropSchemas, testSchema } from '../ops/replicas.ts';
import { iterations, median, prng, superiority } from './support.ts';

type Raw = RawConfig;

after(dropSchemas);

/** PASSWORD hashed once for the whole file (accounts differ by email; a hash costs ~0.2-0.5 s here) */
let passwordHash: Promise<string> | undefined;

/** an active account with PASSWORD on `host`'s site (staff: admin unless `role`) */
async function createUser(gw: TestGateway, host: string, o: { email: string; role?: 'admin' | 'member' }): Promise<User> {
  const site = gw.core.sites.lookup(host)!;
  return gw.store.createUser({
    realm: site.realm,
    email: o.email,
    displayName: 'Test User',
    role: o.role ?? (site.kind === 'staff' ? 'admin' : 'member'),
    passwordHash: await (passwordHash ??= hashPassword(PASSWORD)),
  });
}

/** …with TOTP on: its secret and recovery codes */
async function createEnrolledUser(gw: TestGateway, host: string, o: { email: string; role?: 'admin' | 'member' }) {
  const user = await createUser(gw, host, o);
  return { user, ...(await enrolTotp(gw.store, gw.core.secretBox, user, { actor: 'test' })) };
}

describe('user enumeration', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ configure: (raw: Raw) => ({ ...raw, auth: { lockout: { maxFailures: 10_000 }, ipThrottle: { maxFailures: 10_000 } } }) });
    await createEnrolledUser(gw, HOSTS.staff, { email: 'known@example.com' });
    const disabled = await createUser(gw, HOSTS.staff, { email: 'disabled@example.com' });
    await gw.store.updateUser('staff', disabled.id, { status: 'disabled' });
    await gw.store.createUser({ realm: 'staff', email: 'sso-only@example.com', displayName: 'SSO Only', role: 'member', passwordHash: null });
  });
  after(() => gw.close());

  test('every wrong answer is the same page: unknown email, wrong password, disabled, SSO-only, not enrolled', async () => {
    await createUser(gw, HOSTS.staff, { email: 'new@example.com' });
    const neutral = (body: string, email: string) =>
      body
        .replaceAll(email, 'EMAIL')
        .replace(/name="csrf" value="[^"]+"/, 'CSRF')
        .replace(/Reference: [^<]+/, '');
    const answers = [];
    for (const email of ['nobody@example.com', 'known@example.com', 'disabled@example.com', 'sso-only@example.com', 'new@example.com', 'KNOWN@example.com ']) {
      const res = await submitPassword(new Client(gw, HOSTS.staff), email, 'definitely not the password');
      answers.push({
        email,
        status: res.status,
        alert: alertOf(res.body),
        page: neutral(res.body, email.trim()),
        headers: [res.headers['cache-control'], res.headers['retry-after'], res.headers['content-type']],
      });
    }
    // the right password on a disabled account confirms nothing either
    const right = await submitPassword(new Client(gw, HOSTS.staff), 'disabled@example.com', PASSWORD);
    answers.push({
      email: 'disabled@example.com (right password)',
      status: right.status,
      alert: alertOf(right.body),
      page: neutral(right.body, 'disabled@example.com'),
      headers: [right.headers['cache-control'], right.headers['retry-after'], right.headers['content-type']],
    });
    for (const a of answers.slice(1)) {
      assert.equal(a.status, answers[0]!.status, a.email);
      assert.equal(a.alert, 'Email or password is incorrect.', a.email);
      assert.equal(a.page, answers[0]!.page, `${a.email}: the page differs from an unknown email's`);
      assert.deepEqual(a.headers, answers[0]!.headers, a.email);
    }
  });

  test('timing: wrong password and unknown email are indistinguishable (Mann-Whitney), a skipped hash is not', async (t) => {
    const SAMPLES = iterations(24, 100);
    const browser = new Client(gw, HOSTS.staff);
    const timed = async (email: string, password: string): Promise<number> => {
      const csrf = csrfOf((await browser.get('/.auth/login')).body);
      const started = performance.now();
      const res = await browser.post('/.auth/login', { csrf, email, password });
      const ms = performance.now() - started;
      assert.ok(res.status === 401 || res.status === 400, `status ${res.status}`);
      return ms;
    };
    // interleaved in a seeded random order, so that load drifting over time hits both alike
    const rnd = prng(20260311);
    const known: number[] = [];
    const unknown: number[] = [];
    const order = [...Array.from({ length: SAMPLES }, () => 'k'), ...Array.from({ length: SAMPLES }, () => 'u')].sort(() => rnd.next() - 0.5);
    await timed('known@example.com', 'warm-up guess'); // first-use costs (page templates, statements)
    for (const [i, which] of order.entries()) {
      if (which === 'k') known.push(await timed('known@example.com', `wrong guess ${i}`));
      else unknown.push(await timed(`nobody-${i}@example.com`, `wrong guess ${i}`));
    }
    const auc = superiority(known, unknown);
    t.diagnostic(
      `wrong password: median ${median(known).toFixed(1)} ms; unknown email: median ${median(unknown).toFixed(1)} ms; P(known > unknown) = ${auc.toFixed(3)}`,
    );
    // under one distribution P is 0.5 ± 0.084 (n = 24 + 24); 0.15..0.85 is a 4.2-sigma band, while a
    // skipped (or cheaper) hash on either path puts every sample of one above the other: P = 0 or 1
    assert.ok(auc > 0.15 && auc < 0.85, `the two paths are distinguishable by time: P(known > unknown) = ${auc.toFixed(3)}`);

    // the same statistic on a path that does skip the hash (an incomplete form) must flag it
    const skipped: number[] = [];
    for (let i = 0; i < 12; i++) skipped.push(await timed('known@example.com', ''));
    const power = superiority(known, skipped);
    t.diagnostic(`incomplete form (no hash): median ${median(skipped).toFixed(1)} ms; P(known > no hash) = ${power.toFixed(3)}`);
    assert.ok(power > 0.95, `the test cannot see a skipped hash (P = ${power.toFixed(3)})`);
  });
});

/**
 * A store wrapper that makes a burst of sign-in attempts truly concurrent and orders it
 * the way that is worst for the gateway: the first `size` reads of the victim's account
 * wait for each other (every attempt sees the account unlocked), and any later read of it
 * waits until the wrong guesses of the burst have been counted. A gateway that decides on
 * the account it read at the start lets a right guess through a lock set meanwhile.
 */
function burstHold() {
  const state = { armed: false, size: 0, reads: 0, loaded: 0, failures: 0, victim: '', victimId: '', order: true, waiting: [] as Array<() => void> };
  const isVictim = (idOrEmail: string) => state.armed && (idOrEmail === state.victimId || idOrEmail.trim().toLowerCase() === state.victim);
  /** the first `size` reads are made at once (each sees the account as it was before the burst); later ones after the wrong guesses were counted */
  async function read<T>(load: () => Promise<T>): Promise<T> {
    const n = ++state.reads;
    if (n <= state.size) {
      const value = await load();
      if (++state.loaded < state.size) await new Promise<void>((resolve) => state.waiting.push(resolve));
      else for (const resolve of state.waiting.splice(0)) resolve();
      return value;
    }
    if (state.order) {
      const deadline = Date.now() + 5_000;
      while (state.failures < state.size - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    return load();
  }
  return {
    /** `afterFailures`: later reads wait for the burst's wrong guesses to be counted */
    arm(victim: User, size: number, afterFailures = true) {
      Object.assign(state, { armed: true, size, reads: 0, loaded: 0, failures: 0, victim: victim.email, victimId: victim.id, order: afterFailures });
    },
    disarm() {
      state.armed = false;
      for (const resolve of state.waiting.splice(0)) resolve();
    },
    get failures() {
      return state.failures;
    },
    wrap(store: Store): Store {
      return {
        ...store,
        kind: store.kind,
        getUser: (realm, id) => (isVictim(id) ? read(() => store.getUser(realm, id)) : store.getUser(realm, id)),
        getUserByEmail: (realm, email) => (isVictim(email) ? read(() => store.getUserByEmail(realm, email)) : store.getUserByEmail(realm, email)),
        recordFailure: async (realm, id, now, policy) => {
          const r = await store.recordFailure(realm, id, now, policy);
          if (isVictim(id)) state.failures++;
          return r;
        },
      };
    },
  };
}

describe('brute force and replay across two replicas on one PostgreSQL database', () => {
  const MAX_FAILURES = 3;
  const hold = burstHold();
  let storeA: Store;
  let storeB: Store;
  let a: TestGateway;
  let b: TestGateway;
  before(async () => {
    const schema = testSchema('security_signin');
    storeA = await openStore({ driver: 'postgres', url: DATABASE_URL, schema, pool: { max: 8 } });
    storeB = await openStore({ driver: 'postgres', url: DATABASE_URL, schema, pool: { max: 8 } });
    const configure = (raw: Raw) => ({ ...raw, auth: { lockout: { maxFailures: MAX_FAILURES }, ipThrottle: { maxFailures: 10_000 } } });
    a = await startGateway({ store: hold.wrap(storeA), configure });
    b = await startGateway({ store: hold.wrap(storeB), configure: (raw: Raw) => ({ ...configure(raw), keys: a.config.keys }) });
  });
  after(async () => {
    hold.disarm();
    await a.close();
    await b.close();
    await storeA.close();
    await storeB.close();
  });

  /** a browser on replica `gw` that has passed the password step */
  async function pending(gw: TestGateway, email: string): Promise<{ client: Client; csrf: string }> {
    const client = new Client(gw, HOSTS.staff);
    const res = await submitPassword(client, email, PASSWORD);
    assert.equal(res.location, '/.auth/login/totp', `password step: ${res.status}`);
    return { client, csrf: csrfOf((await client.get('/.auth/login/totp')).body) };
  }

  /** a code that is not valid now (nor a step either side) */
  async function wrongCode(secret: string, i: number): Promise<string> {
    const valid = new Set(await Promise.all([-1, 0, 1].map((s) => codeAt(secret, Date.now(), s))));
    for (let k = 0; ; k++) {
      const c = String((123_457 + (i + k) * 7_919) % 1_000_000).padStart(6, '0');
      if (!valid.has(c)) return c;
    }
  }

  test('the same TOTP code sent to both replicas at the same moment signs in once', async () => {
    const { user, secret } = await createEnrolledUser(a, HOSTS.staff, { email: 'replay@example.com' });
    for (let round = 0; round < 1; round++) {
      const [x, y] = [await pending(a, user.email), await pending(b, user.email)];
      // the current step's code: still valid (one step behind) if the clock crosses a step meanwhile
      const code = await codeAt(secret, Date.now());
      hold.arm(user, 2, false);
      const [r1, r2] = await Promise.all([
        x.client.post('/.auth/login/totp', { csrf: x.csrf, code }),
        y.client.post('/.auth/login/totp', { csrf: y.csrf, code }),
      ]);
      hold.disarm();
      const statuses = [r1.status, r2.status].sort();
      assert.deepEqual(statuses, [303, 401], `round ${round}: ${statuses}`);
      const loser = r1.status === 401 ? r1 : r2;
      assert.match(alertOf(loser.body) ?? '', /not correct or has expired/);
      // and the code stays used on both replicas
      const again = await pending(round % 2 ? a : b, user.email);
      assert.equal((await again.client.post('/.auth/login/totp', { csrf: again.csrf, code })).status, 401);
      await storeA.clearFailures('staff', user.id);
    }
  });

  test('wrong codes spread over both replicas lock the account on both; the right code is then refused', async () => {
    const { user, secret } = await createEnrolledUser(a, HOSTS.staff, { email: 'spread@example.com' });
    for (let i = 0; i < MAX_FAILURES; i++) {
      const gw = i % 2 ? b : a;
      const p = await pending(gw, user.email);
      const res = await p.client.post('/.auth/login/totp', { csrf: p.csrf, code: await wrongCode(secret, i) });
      assert.equal(res.status, i < MAX_FAILURES - 1 ? 401 : 429, `guess ${i + 1} on replica ${i % 2 ? 'b' : 'a'}`);
    }
    for (const gw of [a, b]) {
      const client = new Client(gw, HOSTS.staff);
      const res = await submitPassword(client, user.email, PASSWORD);
      assert.equal(res.status, 429, 'locked: even the right password is refused');
      assert.equal(res.location, null);
    }
    assert.equal((await storeB.getUser('staff', user.id))?.failedCount, MAX_FAILURES);
  });

  test('a burst of concurrent TOTP guesses over both replicas: the right one, checked after the lock, is refused', async (t) => {
    const SIZE = 6;
    const { user, secret } = await createEnrolledUser(a, HOSTS.staff, { email: 'totp-burst@example.com' });
    const browsers = [];
    for (let i = 0; i < SIZE; i++) browsers.push(await pending(i % 2 ? b : a, user.email));
    const right = await codeAt(secret, Date.now());
    const guesses = await Promise.all(browsers.map((_, i) => (i === SIZE - 1 ? Promise.resolve(right) : wrongCode(secret, i))));
    hold.arm(user, SIZE);
    const answers = await Promise.all(browsers.map((p, i) => p.client.post('/.auth/login/totp', { csrf: p.csrf, code: guesses[i] as string })));
    hold.disarm();
    const last = answers.at(-1)!;
    t.diagnostic(`answers ${answers.map((r) => r.status).join(' ')}; failures counted ${hold.failures}`);
    assert.equal(hold.failures, SIZE - 1, 'every wrong guess was counted');
    assert.notEqual(last.status, 303, 'the right code signed in although the account was locked by then');
    assert.equal(last.status, 429);
    assert.ok(!browsers.at(-1)!.client.cookies.has(a.cookieName), 'no session cookie');
    assert.ok(answers.filter((r) => r.status === 401).length <= SIZE - 1);
    const stored = await storeA.getUser('staff', user.id);
    assert.ok(stored?.lockedUntil !== null && stored!.lockedUntil > Date.now(), 'the account stays locked');
  });

  test('a burst of concurrent password guesses over both replicas: the right one, checked after the lock, gives nothing away', async (t) => {
    const SIZE = 6;
    const { user } = await createEnrolledUser(a, HOSTS.staff, { email: 'password-burst@example.com' });
    const browsers: Array<{ client: Client; csrf: string }> = [];
    for (let i = 0; i < SIZE; i++) {
      const client = new Client(i % 2 ? b : a, HOSTS.staff);
      browsers.push({ client, csrf: csrfOf((await client.get('/.auth/login')).body) });
    }
    hold.arm(user, SIZE);
    const answers = await Promise.all(
      browsers.map((p, i) => p.client.post('/.auth/login', { csrf: p.csrf, email: user.email, password: i === SIZE - 1 ? PASSWORD : `wrong guess ${i}` })),
    );
    hold.disarm();
    const last = answers.at(-1)!;
    t.diagnostic(`answers ${answers.map((r) => `${r.status}${r.location ?? ''}`).join(' ')}; failures counted ${hold.failures}`);
    assert.equal(hold.failures, SIZE - 1);
    assert.notEqual(last.location, '/.auth/login/totp', 'the right password was confirmed although the account was locked by then');
    assert.equal(last.status, 429);
    // the lock's end is given to the minute; two answers milliseconds apart may straddle one
    const unclocked = (body: string) => (alertOf(body) ?? '').replace(/\(at \d\d:\d\d UTC\)/, '(at HH:MM UTC)');
    assert.equal(
      unclocked(last.body),
      unclocked(answers.find((r) => r.status === 429 && r !== last)?.body ?? last.body),
      'the same answer as a wrong guess on a locked account',
    );
  });

  test('after all that, an account that was never attacked signs in on both replicas', async () => {
    const { user, secret } = await createEnrolledUser(a, HOSTS.staff, { email: 'calm@example.com' });
    assert.equal((await signIn(new Client(a, HOSTS.staff), user.email, secret, Date.now(), '/x')).status, 303);
    assert.equal((await signIn(new Client(b, HOSTS.staff), user.email, secret, Date.now() + 30_000, '/x')).status, 303);
  });
});

describe('session fixation', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('cookies planted before sign-in are not the ones after, and keep giving the attacker nothing of the victim', async () => {
    const victim = await createEnrolledUser(gw, HOSTS.staff, { email: 'fixed-victim@example.com' });
    const attacker = await createEnrolledUser(gw, HOSTS.staff, { email: 'fixer@example.com' });
    // the attacker's own cookies: a session of their account and a fresh flow
    const mallory = new Client(gw, HOSTS.staff);
    assert.equal((await signIn(mallory, attacker.user.email, attacker.secret, Date.now())).status, 303);
    await mallory.get('/.auth/login?rd=/x');
    const planted = new Map(mallory.cookies);
    const flowPage = await new Client(gw, HOSTS.staff).get('/.auth/login');
    const plantedFlow = String(flowPage.headers['set-cookie']).split(';', 1)[0]!;
    const [flowName, flowValue] = [plantedFlow.slice(0, plantedFlow.indexOf('=')), plantedFlow.slice(plantedFlow.indexOf('=') + 1)];
    planted.set(flowName, flowValue);

    // the victim's browser carries them (planted by a sibling host or a script), then the victim signs in
    const browser = new Client(gw, HOSTS.staff);
    for (const [k, v] of planted) browser.cookies.set(k, v);
    browser.cookies.delete(gw.cookieName); // a signed-in session would skip the sign-in page: plant the flow alone first
    const pwd = await submitPassword(browser, victim.user.email, PASSWORD);
    assert.equal(pwd.location, '/.auth/login/totp');
    assert.notEqual(browser.cookies.get(flowName), flowValue, 'the sign-in started a new flow');
    const done = await browser.post('/.auth/login/totp', {
      csrf: csrfOf((await browser.get('/.auth/login/totp')).body),
      code: await codeAt(victim.secret, Date.now()),
    });
    assert.equal(done.status, 303);
    const session = browser.cookies.get(gw.cookieName);
    assert.ok(session && session !== planted.get(gw.cookieName), 'a new session cookie');

    const whoIs = async (cookie: string) => {
      const res = await gw.request(HOSTS.staff, '/.auth/me', { cookie });
      return res.statusCode === 200 ? ((await res.body.json()) as { email: string; sid: string }) : (await res.body.dump(), null);
    };
    const mine = await whoIs(`${gw.cookieName}=${session}`);
    const theirs = await whoIs(`${gw.cookieName}=${planted.get(gw.cookieName)}`);
    assert.equal(mine?.email, victim.user.email);
    assert.equal(theirs?.email, attacker.user.email, "the planted session is still only the attacker's");
    assert.notEqual(mine?.sid, theirs?.sid);
    // the planted flow cookie (which the attacker kept) carries nothing of the victim's sign-in
    const replay = await gw.request(HOSTS.staff, '/.auth/login/totp', { cookie: `${flowName}=${flowValue}`, headers: { accept: 'text/html' } });
    const replayed = await replay.body.text();
    assert.doesNotMatch(replayed, /action="\/\.auth\/login\/totp"/, 'no pending step in the planted flow');
    assert.match(replayed, /Enter your email and password again/);

    // a session planted with the victim's browser then signing in again: the sign-in page says "signed in"
    // (as the attacker) rather than mixing the two; a sign-out ends the planted one
    const mixed = new Client(gw, HOSTS.staff);
    mixed.cookies.set(gw.cookieName, planted.get(gw.cookieName)!);
    const page = await mixed.get('/.auth/login?rd=/x');
    assert.equal(page.status, 303);
  });
});

/** state-changing routes of the gateway, from the router itself: [path, methods] */
function stateChangingRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ├└─]*)(\S.*?) \(([A-Z, ]+)\)$/.exec(line.replace(/\u00a0/g, ' '));
    if (!m) continue;
    const depth = Math.round((m[1] as string).length / 4);
    stack.length = depth;
    stack[depth] = m[2] as string;
    const path = stack.join('').replace(/\/+/g, '/');
    const methods = (m[3] as string).split(', ').filter((x) => !['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(x));
    if (path.startsWith('/.auth') && methods.length > 0) out.push(`${methods.sort().join(',')} ${path}`);
  }
  return out.sort();
}

describe('CSRF on every state-changing route', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ configure: (raw: Raw) => ({ ...raw, auth: { lockout: { maxFailures: 100 }, ipThrottle: { maxFailures: 10_000 } } }) });
  });
  after(() => gw.close());

  const COVERED = [
    'DELETE,PATCH,POST,PUT,QUERY /.auth/admin/*',
    'POST /.auth/account/authenticator',
    'POST /.auth/account/authenticator/confirm',
    'POST /.auth/account/password',
    'POST /.auth/account/recovery-codes',
    'POST /.auth/account/sessions',
    'POST /.auth/admin/people/portal/:clientId/accounts/:uid',
    'POST /.auth/admin/people/portal/:clientId/new',
    'POST /.auth/admin/people/staff/accounts/:uid',
    'POST /.auth/admin/people/staff/new',
    'POST /.auth/admin/portal/:clientId/authentication',
    'POST /.auth/admin/security/sso',
    'POST /.auth/admin/security/sso/credentials',
    'POST /.auth/admin/security/sso/roles',
    'POST /.auth/login',
    'POST /.auth/login/enroll',
    'POST /.auth/login/recovery',
    'POST /.auth/login/totp',
    'POST /.auth/logout',
    'POST /.auth/setup',
  ];

  test('the routes checked below are every state-changing route under /.auth', () => {
    assert.deepEqual(stateChangingRoutes(gw.app.printRoutes({ commonPrefix: false })), COVERED);
  });

  test("sign-in forms: a cross-site post with the victim's cookies but without this flow's token changes nothing", async () => {
    const { user, secret, recoveryCodes } = await createEnrolledUser(gw, HOSTS.staff, { email: 'csrf-victim@example.com' });
    const victim = new Client(gw, HOSTS.staff);
    assert.equal((await submitPassword(victim, user.email, PASSWORD)).status, 303);
    const forged = [
      ['/.auth/login', { email: user.email, password: PASSWORD }],
      ['/.auth/login/totp', { code: await codeAt(secret, Date.now()) }],
      ['/.auth/login/recovery', { code: recoveryCodes[0] as string }],
      ['/.auth/login/enroll', { code: await codeAt(secret, Date.now()) }],
    ] as const;
    for (const [path, form] of forged) {
      for (const csrf of [undefined, '', 'x'.repeat(32), csrfOf((await new Client(gw, HOSTS.staff).get('/.auth/login')).body)]) {
        const res = await victim.send(
          'POST',
          path,
          { ...form, ...(csrf === undefined ? {} : { csrf }) },
          { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        );
        assert.equal(res.status, 403, `${path} with token ${JSON.stringify(csrf)?.slice(0, 12)}`);
        assert.match(res.body, /Form expired/);
      }
    }
    const stored = await gw.store.getUser('staff', user.id);
    assert.equal(stored?.failedCount, 0);
    assert.equal(stored?.totpLastStep, null, 'no code was used');
    assert.equal(await gw.store.countRecoveryCodes(user.id), 10);
    assert.ok(!victim.cookies.has(gw.cookieName), 'no session');
  });

  test('sign-out: a cross-site or origin-less POST keeps the session', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    for (const headers of [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      {},
      { origin: 'null' },
      { origin: `http://${HOSTS.staff}.evil.example` },
    ]) {
      const res = await gw.request(HOSTS.staff, '/.auth/logout', { method: 'POST', cookie, headers: { accept: 'text/html', ...headers } });
      await res.body.dump();
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      const me = await gw.request(HOSTS.staff, '/.auth/me', { cookie });
      await me.body.dump();
      assert.equal(me.statusCode, 200, 'still signed in');
    }
  });

  test("account and People forms: a cross-site post with the owner's cookies and even the right token changes nothing", async () => {
    const admin = await createEnrolledUser(gw, HOSTS.staff, { email: 'csrf-people@example.com', role: 'admin' });
    const browser = new Client(gw, HOSTS.staff);
    assert.equal((await signIn(browser, admin.user.email, admin.secret, Date.now())).status, 303);
    const account = await browser.get('/.auth/account');
    assert.equal(account.status, 200);
    const people = await browser.get('/.auth/admin/people/staff/new');
    assert.equal(people.status, 200);
    const before = JSON.stringify(await gw.store.listUsers('staff'));
    const posts: ReadonlyArray<readonly [string, Record<string, string>]> = [
      [
        '/.auth/account/password',
        { csrf: csrfOf(account.body), current: PASSWORD, password: 'another long passphrase 9', confirm: 'another long passphrase 9' },
      ],
      ['/.auth/account/recovery-codes', { csrf: csrfOf(account.body) }],
      ['/.auth/account/sessions', { csrf: csrfOf(account.body), action: 'sign-out-others' }],
      ['/.auth/account/authenticator', { csrf: csrfOf(account.body) }],
      ['/.auth/admin/people/staff/new', { csrf: csrfOf(people.body), email: 'planted@example.com', name: 'Planted', role: 'admin' }],
      [`/.auth/admin/people/staff/accounts/${admin.user.id}`, { csrf: csrfOf(people.body), action: 'disable', confirm: 'yes' }],
    ];
    for (const [path, form] of posts) {
      for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }] as Array<Record<string, string>>) {
        const res = await browser.send('POST', path, form, headers);
        assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}`);
      }
    }
    assert.equal(JSON.stringify(await gw.store.listUsers('staff')), before, 'no account changed or created');
    assert.equal((await browser.get('/.auth/account')).status, 200, 'still signed in');
  });

  test("a set-up link's form: a post without this browser's flow token is refused", async () => {
    const res = await new Client(gw, HOSTS.staff).send(
      'POST',
      '/.auth/setup',
      { token: 'x'.repeat(43), password: 'a long passphrase 1', confirm: 'a long passphrase 1' },
      { origin: 'https://evil.example' },
    );
    assert.equal(res.status, 403);
  });

  test("admin forms: a cross-site post with the admin's cookies and even the right token is refused", async () => {
    const admin = await createEnrolledUser(gw, HOSTS.staff, { email: 'csrf-admin@example.com', role: 'admin' });
    const browser = new Client(gw, HOSTS.staff);
    assert.equal((await signIn(browser, admin.user.email, admin.secret, Date.now())).status, 303);
    const SSO = '/.auth/admin/security/sso';
    const forms: Record<string, [string, Record<string, string>]> = {
      [SSO]: [SSO, { action: 'auto-provision-on' }],
      [`${SSO}/credentials`]: [SSO, { action: 'generate-certificate', days: '365' }],
      [`${SSO}/roles`]: [SSO, { source: 'roles', values: 'Regentra.Admin' }],
      '/.auth/admin/portal/acme/authentication': ['/.auth/admin/portal/acme/authentication', { action: 'save', mfa: 'optional' }],
    };
    for (const [path, [pagePath, fields]] of Object.entries(forms)) {
      const page = await browser.get(pagePath);
      assert.equal(page.status, 200, pagePath);
      const version = /name="version" value="(\d+)"/.exec(page.body)?.[1] ?? '0';
      const form: Record<string, string> = { ...fields, csrf: csrfOf(page.body), version };
      const crossSite: Array<Record<string, string>> = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, {}];
      for (const headers of crossSite) {
        const res = await browser.send('POST', path, form, headers);
        assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}`);
      }
    }
    assert.equal(await gw.store.getSetting('sso.staff'), null, 'nothing saved');
    assert.equal(await gw.store.getSetting('portal.auth.acme'), null, 'nothing saved');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await gw.request(HOSTS.staff, '/.auth/admin/anything', { method, cookie: browser.cookie, headers: { origin: 'https://evil.example' } });
      await res.body.dump();
      assert.equal(res.statusCode, 404, method);
    }
  });
});
