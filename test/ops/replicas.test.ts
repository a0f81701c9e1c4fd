/**
 * Several replicas (issue "Production deployment", part 2): three gateways on one
 * PostgreSQL schema with the same keys behave as one.
 *
 * The three gateways are real child processes — `regentra-gateway serve --config FILE`,
 * the shipped binary, each with its own YAML copy of one configuration
 * (startReplicaProcesses in ./replicas.ts), started at once on a fresh schema (so they
 * also race the migrations). Processes rather than three serve() calls in this one:
 * in-process replicas would share module-level state (caches, throttles, the event
 * loop), which could make cross-replica behaviour pass for the wrong reason; separate
 * processes share nothing but the database and the keys, like the pods of a deployment.
 * The test process only plays the browser, the upstreams and the operator (accounts
 * are created with the same API the `users` CLI uses, on its own database connection;
 * one case runs the CLI's entry point, main(), on a replica's configuration file).
 *
 * Time: processes cannot share an injected clock, so the bounds are observed on the
 * real clock with bounded polls. A probe's start time is taken before the request is
 * sent, and "within the bound" is asserted exactly: no probe that started later than
 * the change + the bound was still let through (the poll itself stops at bound + 1 s).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { loadConfigObject } from '../../src/config/load.ts';
import { main, openConfiguredStore } from '../../src/main.ts';
import { createSecretBox } from '../../src/store/secretbox.ts';
import { mustDecodeKey32 } from '../../src/config/keys.ts';
import type { Store, User } from '../../src/store/types.ts';
import { createLocalUser, setStatus } from '../../src/auth/password/users.ts';
import { enrolTotp } from '../../dev/seed.ts';
import { MESSAGES } from '../../src/auth/password/signin.ts';
import { SETTINGS_CACHE_MS } from '../../src/auth/policy.ts';
import { timeStep } from '../../src/auth/totp/totp.ts';
import { verifyIdentity } from '../../src/identity/verify.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { baseRawConfig, HOSTS, TENANTS } from '../support/gateway.ts';
import { startUpstream, type Echo, type Upstream } from '../support/upstream.ts';
import { alertOf, codeAt, csrfOf, PASSWORD } from '../auth/password/flow.ts';
import { PORTAL_APP } from '../admin/helpers.ts';
import { adminQuery, dropSchemas, startReplicaProcesses, testSchema, withPostgres, type GatewayProcess } from './replicas.ts';
import { sleep } from './harness.ts';

/** session.revocationCheckSeconds of these replicas (the default is 5, the documented maximum 10) */
const REVOCATION_BOUND_S = 3;
const REVOCATION_BOUND_MS = REVOCATION_BOUND_S * 1000;
/** the settings cache reads its clock with a 1 ms resolution */
const SETTINGS_CLOCK_ALLOWANCE_MS = 5;
const ISSUER = 'https://gateway.test';

let staffUp: Upstream;
let portalUp: Upstream;
let replicas: GatewayProcess[];
let A: GatewayProcess;
let B: GatewayProcess;
let C: GatewayProcess;
/** the operator's own connection to the replicas' database */
let store: Store;
let box: ReturnType<typeof createSecretBox>;
let minLength: number;
let schema: string;

before(async () => {
  staffUp = await startUpstream('staff-app');
  portalUp = await startUpstream('portal-app');
  schema = testSchema('replicas');
  const raw = withPostgres(baseRawConfig(staffUp.url, portalUp.url), schema);
  raw.session = { secure: false, revocationCheckSeconds: REVOCATION_BOUND_S };
  raw.identity = { issuer: ISSUER };
  const sites = raw.sites as { portal: Record<string, unknown> };
  // Regentra's multi-tenant app, so that a client's portal SSO can be switched on in the settings
  sites.portal.entra = { ...PORTAL_APP };
  sites.portal.centralCallbackHost = HOSTS.central;
  replicas = await startReplicaProcesses(3, raw);
  [A, B, C] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess];
  const { config } = loadConfigObject(raw);
  store = await openConfiguredStore(config);
  box = createSecretBox(config.keys.encryption.map((k) => ({ id: k.id, key: mustDecodeKey32(k.key) })));
  minLength = config.auth.password.minLength;
});

after(async () => {
  const codes = await Promise.all((replicas ?? []).map((r) => r.stop()));
  await store?.close();
  await staffUp?.close();
  await portalUp?.close();
  await dropSchemas();
  // every replica stopped cleanly (graceful shutdown, exit code 0)
  assert.deepEqual(
    codes,
    codes.map(() => 0),
    (replicas ?? []).map((r) => r.output()).join('\n'),
  );
});

// ------------------------------------------------------------------ helpers

interface Page {
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly body: string;
  readonly location: string | null;
}

/** One browser on one host name: keeps its cookies whichever replica answers. */
class Browser {
  readonly cookies = new Map<string, string>();
  readonly host: string;
  constructor(host: string) {
    this.host = host;
  }

  get cookie(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  async send(gw: GatewayProcess, method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Page> {
    const res = await gw.request(this.host, path, {
      method,
      cookie: this.cookie,
      headers: { accept: 'text/html', ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${this.host}` } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    const body = await res.body.text();
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line) || /expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = res.headers.location;
    return { status: res.statusCode, headers: res.headers, body, location: typeof location === 'string' ? location : null };
  }

  get(gw: GatewayProcess, path: string): Promise<Page> {
    return this.send(gw, 'GET', path);
  }

  post(gw: GatewayProcess, path: string, form: Record<string, string>): Promise<Page> {
    return this.send(gw, 'POST', path, form);
  }

  /** GET the sign-in page (a new flow) on `gw` and post email + password there. */
  async password(gw: GatewayProcess, email: string, password = PASSWORD, rd = '/whoami'): Promise<Page> {
    const page = await this.get(gw, `/.auth/login?rd=${encodeURIComponent(rd)}`);
    assert.equal(page.status, 200, `${gw.name}: sign-in page`);
    return this.post(gw, '/.auth/login', { csrf: csrfOf(page.body), email, password });
  }

  /** Post a TOTP code in the pending sign-in, on `gw`. */
  async totp(gw: GatewayProcess, code: string): Promise<Page> {
    const page = await this.get(gw, '/.auth/login/totp');
    assert.equal(page.status, 200, `${gw.name}: TOTP page`);
    return this.post(gw, '/.auth/login/totp', { csrf: csrfOf(page.body), code });
  }

  /** A full password + TOTP sign-in on `gw` (with the code `steps` 30-second steps ahead); returns the code it used. */
  async signIn(gw: GatewayProcess, account: Account, rd = '/whoami', steps = 0): Promise<string> {
    const pwd = await this.password(gw, account.user.email, PASSWORD, rd);
    assert.equal(pwd.status, 303, `${gw.name}: password step: ${alertOf(pwd.body)}`);
    assert.equal(pwd.location, '/.auth/login/totp');
    const code = await codeAt(account.secret, Date.now(), steps);
    const done = await this.totp(gw, code);
    assert.equal(done.status, 303, `${gw.name}: TOTP step: ${alertOf(done.body)}`);
    assert.equal(done.location, rd);
    return code;
  }
}

interface Account {
  readonly user: User;
  readonly secret: string;
}

let accounts = 0;

/** An active account with PASSWORD and TOTP on, made as the `users` CLI makes it. */
async function account(realm: string, role: 'admin' | 'member' = 'member'): Promise<Account> {
  const email = `replica-${++accounts}-${process.pid}@example.com`;
  const user = await createLocalUser(store, { realm, email, name: 'Grace Hopper', role, password: PASSWORD, minLength, actor: 'test' });
  const { secret } = await enrolTotp(store, box, user, { actor: 'test' });
  return { user, secret };
}

/** A proxied API request (no text/html: refused means 401) with a session cookie. */
async function proxied(gw: GatewayProcess, host: string, cookie: string, path = '/whoami'): Promise<{ status: number; echo: Echo | null }> {
  const res = await gw.request(host, path, { cookie, headers: { accept: 'application/json' } });
  const text = await res.body.text();
  return { status: res.statusCode, echo: res.statusCode === 200 && res.headers['x-upstream'] ? (JSON.parse(text) as Echo) : null };
}

interface Observation {
  /** epoch ms when the probe was sent and when its answer was in */
  readonly sent: number;
  readonly answered: number;
  /** the probe saw the new state */
  readonly fresh: boolean;
}

interface Watch {
  /**
   * The change was made between `startedAt` and `doneAt` (epoch ms). Resolves with the ms
   * from `doneAt` to the first probe that saw the new state; fails when a probe answered
   * before `startedAt` saw it already, when a probe sent at or after `doneAt` + `boundMs`
   * still saw the old state, or when nothing new was seen by `doneAt` + `boundMs` + 1 s.
   */
  settle(startedAt: number, doneAt: number, boundMs: number): Promise<number>;
  /** stop probing (the change failed) */
  cancel(): Promise<void>;
}

/**
 * Probe `gw` over and over from now on (so that its caches are as fresh as they can be
 * when the change is made) until the probe sees the new state.
 */
function watch(gw: GatewayProcess, what: string, probe: (gw: GatewayProcess) => Promise<boolean>): Watch {
  const seen: Observation[] = [];
  let deadline = Number.POSITIVE_INFINITY;
  let failure: Error | null = null;
  const loop = (async () => {
    for (;;) {
      const sent = Date.now();
      let fresh: boolean;
      try {
        fresh = await probe(gw);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        return;
      }
      seen.push({ sent, answered: Date.now(), fresh });
      if (fresh || sent > deadline) return;
      await sleep(20);
    }
  })();
  return {
    async cancel() {
      deadline = Number.NEGATIVE_INFINITY;
      await loop;
    },
    async settle(startedAt, doneAt, boundMs) {
      deadline = doneAt + boundMs + 1000;
      await loop;
      if (failure !== null) throw failure;
      const early = seen.find((o) => o.fresh && o.answered < startedAt);
      assert.equal(early, undefined, `${gw.name}: ${what} seen before the change was made`);
      const stale = seen.filter((o) => !o.fresh && o.sent >= doneAt + boundMs);
      assert.deepEqual(
        stale.map((o) => o.sent - doneAt),
        [],
        `${gw.name}: ${what} took longer than ${boundMs} ms (old state seen this many ms after the change)`,
      );
      const first = seen.find((o) => o.fresh);
      assert.ok(first, `${gw.name}: ${what} not seen within ${boundMs} ms + 1 s`);
      return Math.max(0, first.sent - doneAt);
    },
  };
}

/**
 * Watch the session on `on` (each must accept it now), make `change`, and check every one
 * of them refuses the session (401, the upstream not reached) within revocationCheckSeconds.
 * Returns the ms each took (from the end of the change to the first refused request).
 */
async function refusedWithinBound(
  on: readonly GatewayProcess[],
  what: string,
  host: string,
  cookie: string,
  change: () => Promise<void>,
): Promise<Record<string, number>> {
  for (const gw of on) assert.equal((await proxied(gw, host, cookie)).status, 200, `${gw.name} accepts the session before the change`);
  const watches = on.map((gw) => watch(gw, what, async (g) => (await proxied(g, host, cookie)).status === 401));
  await sleep(50);
  const startedAt = Date.now();
  await change().catch(async (err: unknown) => {
    await Promise.all(watches.map((w) => w.cancel()));
    throw err;
  });
  const doneAt = Date.now();
  const took = await Promise.all(watches.map((w) => w.settle(startedAt, doneAt, REVOCATION_BOUND_MS)));
  // refused for good, by the gateway: nothing reaches an upstream any more
  const reached = () => portalUp.received.length + staffUp.received.length;
  const before = reached();
  for (const gw of on) assert.equal((await proxied(gw, host, cookie)).status, 401, `${gw.name}: ${what}: still refused`);
  assert.equal(reached(), before, 'a refused request reached an upstream');
  return Object.fromEntries(on.map((gw, i) => [gw.name, took[i] as number]));
}

/** node:test's context, for diagnostics */
type Context = { diagnostic(message: string): void };

function report(t: Context, what: string, took: Record<string, number>, boundMs: number): void {
  t.diagnostic(
    `${what}: seen after ${Object.entries(took)
      .map(([n, ms]) => `${n} ${ms} ms`)
      .join(', ')} (bound ${boundMs} ms)`,
  );
}

// ------------------------------------------------------------------ the cases

test('three gateway processes share the database, the keys and the schema they migrated together', async () => {
  assert.equal(new Set(replicas.map((r) => r.pid)).size, 3, 'three processes');
  assert.ok(!replicas.map((r) => r.pid).includes(process.pid));
  const jwks = await Promise.all(replicas.map(async (gw) => (await gw.request(HOSTS.staff, '/.auth/jwks.json')).body.text()));
  assert.equal(new Set(jwks).size, 1, 'the same public keys on every replica');
  for (const gw of replicas) assert.equal((await gw.ops('/readyz')).status, 200, `${gw.name} ready (its database is reachable)`);
  // started at once on an empty schema: every migration was applied exactly once
  const applied = await adminQuery<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
  assert.deepEqual(
    applied.map((m) => Number(m.version)),
    MIGRATIONS.map((m) => m.version),
  );
});

test('a session made on replica A (password + TOTP) works on B and C, and the identity reaches the upstream', async () => {
  const acc = await account('portal:acme');
  const browser = new Browser(HOSTS.acme);
  await browser.signIn(A, acc);
  const cookie = browser.cookie as string;
  assert.ok(cookie.includes('regentra_session='), 'a session cookie was set by A');

  const jwks = JSON.parse(await (await B.request(HOSTS.acme, '/.auth/jwks.json')).body.text());
  const sids = new Set<string>();
  for (const gw of [A, B, C]) {
    const { status, echo } = await proxied(gw, HOSTS.acme, cookie, `/whoami?via=${gw.name}`);
    assert.equal(status, 200, `${gw.name} accepts the session made on A`);
    assert.ok(echo, `${gw.name} forwarded to the portal upstream`);
    assert.equal(echo.url, `/whoami?via=${gw.name}`);
    assert.equal(echo.headers['x-regentra-email'], acc.user.email);
    assert.equal(echo.headers['x-regentra-user-id'], acc.user.id);
    assert.equal(echo.headers['x-regentra-client'], 'acme');
    // the signed assertion verifies against the keys B publishes, whichever replica signed it
    const who = await verifyIdentity(echo.headers, { keys: jwks, audience: 'portal', issuer: ISSUER });
    assert.equal(who.sub, acc.user.id);
    assert.equal(who.realm, 'portal:acme');
    assert.deepEqual(who.amr, ['pwd', 'otp']);
    sids.add(who.sid);
  }
  assert.equal(sids.size, 1, 'one session, seen by three replicas');
  // and the sign-in page on C sees the user as signed in (303 to the target)
  const login = await C.request(HOSTS.acme, '/.auth/login?rd=%2Fhome', { cookie, headers: { accept: 'text/html' } });
  await login.body.dump();
  assert.equal(login.statusCode, 303);
  assert.equal(login.headers.location, '/home');
});

test('a TOTP code accepted by replica A is refused by B and C (same code, same time step)', async () => {
  const acc = await account('portal:acme');
  const onA = new Browser(HOSTS.acme);
  const code = await onA.signIn(A, acc);
  const stepOnA = (await store.getUser('portal:acme', acc.user.id))?.totpLastStep;
  assert.ok(typeof stepOnA === 'number' && Math.abs(stepOnA - timeStep(Date.now())) <= 1, 'A recorded the step it accepted');

  for (const gw of [B, C]) {
    const thief = new Browser(HOSTS.acme);
    const pwd = await thief.password(gw, acc.user.email);
    assert.equal(pwd.status, 303, `${gw.name}: the password is right`);
    const replay = await thief.totp(gw, code);
    assert.equal(replay.status, 401, `${gw.name} refuses the code A accepted`);
    assert.equal(alertOf(replay.body), MESSAGES.badCode);
    assert.equal(thief.cookies.has('regentra_session'), false, `${gw.name} started no session`);
    assert.equal((await proxied(gw, HOSTS.acme, thief.cookie ?? '')).status, 401);
  }
  assert.equal((await store.getUser('portal:acme', acc.user.id))?.totpLastStep, stepOnA, 'the accepted step did not move');
});

test('the same TOTP code sent to A, B and C at the same moment is accepted exactly once', async () => {
  const acc = await account('portal:acme');
  const browsers = [A, B, C].map(() => new Browser(HOSTS.acme));
  // three pending sign-ins (password done), one per replica
  const pages = await Promise.all(
    [A, B, C].map(async (gw, i) => {
      const b = browsers[i] as Browser;
      assert.equal((await b.password(gw, acc.user.email)).status, 303);
      const totp = await b.get(gw, '/.auth/login/totp');
      assert.equal(totp.status, 200);
      return totp;
    }),
  );
  const code = await codeAt(acc.secret, Date.now());
  const answers = await Promise.all(
    [A, B, C].map((gw, i) => (browsers[i] as Browser).post(gw, '/.auth/login/totp', { csrf: csrfOf((pages[i] as Page).body), code })),
  );
  const statuses = answers.map((a) => a.status);
  assert.equal(statuses.filter((s) => s === 303).length, 1, `exactly one replica accepted the code: ${statuses.join(', ')}`);
  assert.equal(statuses.filter((s) => s === 401).length, 2, `the other two refused it: ${statuses.join(', ')}`);
});

test('five wrong passwords spread over A, B and C lock the account on all three, saying when to retry', async () => {
  const acc = await account('portal:acme');
  const email = acc.user.email;
  const order = [A, B, C, A, B];
  for (const [i, gw] of order.entries()) {
    const res = await new Browser(HOSTS.acme).password(gw, email, `wrong password number ${i + 1}`);
    if (i < order.length - 1) {
      assert.equal(res.status, 401, `failure ${i + 1} on ${gw.name}: not locked yet`);
      assert.equal(alertOf(res.body), MESSAGES.invalid);
    } else {
      assert.equal(res.status, 429, `failure ${i + 1} on ${gw.name} locks the account (the failures of A, B and C were counted together)`);
    }
  }
  const lockedUntil = (await store.getUser('portal:acme', acc.user.id))?.lockedUntil;
  assert.ok(typeof lockedUntil === 'number' && lockedUntil > Date.now(), 'locked in the shared store');
  const at = new Date(lockedUntil).toISOString().slice(11, 16);

  // the right password is refused on every replica, with the time to come back
  for (const gw of [A, B, C]) {
    const res = await new Browser(HOSTS.acme).password(gw, email, PASSWORD);
    assert.equal(res.status, 429, `${gw.name} holds the lock`);
    const alert = alertOf(res.body) ?? '';
    assert.ok(alert.startsWith(MESSAGES.locked), `${gw.name}: ${alert}`);
    assert.match(alert, new RegExp(`Try again in 1[45] minutes \\(at ${at} UTC\\)\\.$`), `${gw.name} says when to retry`);
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, `${gw.name}: Retry-After ${retryAfter}`);
  }
});

test('an email without an account locks exactly like a real one across A, B and C (no account enumeration)', async () => {
  const nobody = `nobody-${Date.now()}@acme.example`;
  const order = [A, B, C, A, B];
  for (const [i, gw] of order.entries()) {
    const res = await new Browser(HOSTS.acme).password(gw, nobody, `wrong password number ${i + 1}`);
    if (i < order.length - 1) {
      assert.equal(res.status, 401, `failure ${i + 1} on ${gw.name}: not locked yet`);
      assert.equal(alertOf(res.body), MESSAGES.invalid);
    } else {
      assert.equal(res.status, 429, `failure ${i + 1} on ${gw.name} answers "locked", as for a real account`);
    }
  }
  for (const gw of [A, B, C]) {
    const res = await new Browser(HOSTS.acme).password(gw, nobody, PASSWORD);
    assert.equal(res.status, 429, `${gw.name} holds the lock for the unknown email too`);
    assert.ok((alertOf(res.body) ?? '').startsWith(MESSAGES.locked));
  }
});

test('sign out everywhere (the users CLI) ends the session on A, B and C within revocationCheckSeconds', async (t) => {
  const acc = await account('portal:acme');
  const browser = new Browser(HOSTS.acme);
  await browser.signIn(A, acc);
  const cookie = browser.cookie as string;

  const took = await refusedWithinBound([A, B, C], 'sign-out-everywhere', HOSTS.acme, cookie, async () => {
    // the operator runs `regentra-gateway users sign-out-everywhere` (the binary's main(), on
    // A's configuration file, with its own connection to the database)
    let stderr = '';
    const io = {
      stdout: new Writable({ write: (_c, _e, done) => done() }),
      stderr: new Writable({ write: (c: Buffer, _e, done) => ((stderr += c.toString()), done()) }),
      stdin: Readable.from([]),
    };
    const code = await main(['users', 'sign-out-everywhere', 'portal:acme', acc.user.email, '--config', A.file], {}, io);
    assert.equal(code, 0, stderr);
  });
  report(t, 'sign-out-everywhere', took, REVOCATION_BOUND_MS);
  assert.ok((await store.getUser('portal:acme', acc.user.id))!.sessionsValidAfter > 0);
  // a new sign-in works again, on any replica (with the next code: this step's may be used already)
  await new Browser(HOSTS.acme).signIn(C, acc, '/whoami', 1);
});

test('disabling a user ends their session on A, B and C within revocationCheckSeconds', async (t) => {
  const acc = await account('portal:acme');
  const browser = new Browser(HOSTS.acme);
  await browser.signIn(B, acc);
  const cookie = browser.cookie as string;

  // what `regentra-gateway users disable` calls, on the operator's own connection
  const took = await refusedWithinBound([A, B, C], 'disable', HOSTS.acme, cookie, async () => {
    await setStatus(store, acc.user, 'disabled', { actor: 'cli' });
  });
  report(t, 'disable', took, REVOCATION_BOUND_MS);
  // and a disabled account cannot sign in again on any replica (answered as a wrong password)
  for (const gw of [A, B, C]) {
    const res = await new Browser(HOSTS.acme).password(gw, acc.user.email);
    assert.equal(res.status, 401, `${gw.name} refuses the disabled account`);
    assert.equal(alertOf(res.body), MESSAGES.invalid);
  }
});

test('signing out on A refuses the copied cookie at once on A and on B and C within revocationCheckSeconds', async (t) => {
  const acc = await account('portal:acme');
  const browser = new Browser(HOSTS.acme);
  await browser.signIn(A, acc);
  const copied = browser.cookie as string; // e.g. stolen before the sign-out
  for (const gw of [A, B, C]) assert.equal((await proxied(gw, HOSTS.acme, copied)).status, 200, `${gw.name} accepts the session`);

  const took = await refusedWithinBound([B, C], 'sign-out', HOSTS.acme, copied, async () => {
    const out = await browser.post(A, '/.auth/logout', {});
    assert.equal(out.status, 303);
    assert.match(out.location ?? '', /^\/\.auth\/signed-out/);
    assert.equal(browser.cookies.has('regentra_session'), false, 'the browser dropped its cookie');
    assert.equal((await proxied(A, HOSTS.acme, copied)).status, 401, 'A refuses the copied cookie at once');
  });
  report(t, 'sign-out on A', took, REVOCATION_BOUND_MS);
});

test('an SSO setting changed on A (portal: Entra SSO on, password sign-in off) is used by B and C within the settings cache bound, without restart', async (t) => {
  const host = HOSTS.globex; // a client no other case uses
  const hasPasswordForm = (body: string) => body.includes('name="password"');
  const hasMicrosoft = (body: string) => body.includes('Sign in with Microsoft');
  const loginPage = async (gw: GatewayProcess) => {
    const res = await gw.request(host, '/.auth/login?rd=%2F', { headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 200, `${gw.name}: sign-in page`);
    return res.body.text();
  };

  // every replica shows (and so has cached) the old policy: password only
  for (const gw of [A, B, C]) {
    const body = await loginPage(gw);
    assert.ok(hasPasswordForm(body) && !hasMicrosoft(body), `${gw.name}: password sign-in only, before`);
  }
  // and someone has the password form open on B and on C
  const stale = await Promise.all(
    [B, C].map(async (gw) => {
      const b = new Browser(host);
      const page = await b.get(gw, '/.auth/login?rd=%2F');
      return { b, csrf: csrfOf(page.body) };
    }),
  );

  // a staff admin signs in on A (password + TOTP) and changes the client's authentication
  const admin = await account('staff', 'admin');
  const browser = new Browser(HOSTS.staff);
  await browser.signIn(A, admin, '/.auth/admin/');
  const path = '/.auth/admin/portal/globex/authentication';
  const form = await browser.get(A, path);
  assert.equal(form.status, 200, 'the settings page on A');
  const version = /name="version" value="(\d+)"/.exec(form.body)?.[1];
  assert.ok(version !== undefined);
  const watches = [B, C].map((gw) =>
    watch(gw, 'the SSO setting', async (g) => {
      const body = await loginPage(g);
      return hasMicrosoft(body) && !hasPasswordForm(body);
    }),
  );
  await sleep(50);
  // passwordAllowed is left unchecked: password sign-in goes off while SSO is on
  const startedAt = Date.now();
  let doneAt = 0;
  try {
    const saved = await browser.post(A, path, { csrf: csrfOf(form.body), version, action: 'save', tenantId: TENANTS.globex, ssoEnabled: 'on', mfa: 'default' });
    doneAt = Date.now();
    assert.equal(saved.status, 303, alertOf(saved.body) ?? saved.body.slice(0, 300));
    assert.equal(saved.location, `${path}?done=saved`);
    const after = await loginPage(A);
    assert.ok(hasMicrosoft(after) && !hasPasswordForm(after), 'A, which wrote the change, uses it at once');
  } catch (err) {
    await Promise.all(watches.map((w) => w.cancel()));
    throw err;
  }

  const bound = SETTINGS_CACHE_MS + SETTINGS_CLOCK_ALLOWANCE_MS;
  const took = await Promise.all(watches.map((w) => w.settle(startedAt, doneAt, bound)));
  report(t, 'SSO setting', { B: took[0] as number, C: took[1] as number }, SETTINGS_CACHE_MS);
  for (const [i, gw] of [B, C].entries()) {
    // the setting is enforced, not just displayed: the form opened before the change is refused
    const { b, csrf } = stale[i] as (typeof stale)[number];
    const res = await b.post(gw, '/.auth/login', { csrf, email: 'someone@globex.test', password: PASSWORD });
    assert.equal(res.status, 403, `${gw.name} refuses password sign-in`);
    assert.match(res.body, /Password sign-in is turned off/);
    // without restart or reload: the same process, still on its first configuration
    assert.match((await gw.ops('/metrics')).body, /^regentra_config_generation 1$/m, `${gw.name} was not reloaded`);
    assert.equal(gw.output().match(/listening on/g)?.length, 1, `${gw.name} was not restarted`);
  }
});
