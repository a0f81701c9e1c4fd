/**
 * Fuzzing the parsers an attacker (or a careless operator) feeds: the configuration
 * loader, the session and flow cookies, hand-off tickets, the central callback's
 * sealed state, the admin-consent state and the secret box under them. Random and
 * mutated inputs (bit flips, truncations, splices, alphabet swaps, structure edits)
 * from a seeded PRNG: never a crash (only the documented error, or a clean 4xx over
 * HTTP), never an accepted forgery (anything accepted decodes to exactly what was
 * sealed). Bounded in CI; SOAK=1 runs a hundred times more with a random seed
 * (FUZZ_SEED=n replays one).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { loadConfigObject, loadConfigText } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { buildSiteTable, canonicalHost } from '../../src/routing/sites.ts';
import { openCentralState, sealCentralState } from '../../src/auth/entra/attempt.ts';
import { signConsentState, verifyConsentState } from '../../src/admin/consent-state.ts';
import { SecretBoxError } from '../../src/store/secretbox.ts';
import { baseRawConfig, HOSTS } from '../support/gateway.ts';
import { startEnv, TENANTS, USERS, type Env } from '../auth/entra/support.ts';
import { fuzzSeed, iterations, prng } from './support.ts';

type Rng = ReturnType<typeof prng>;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NASTY = [
  '',
  '.',
  '..',
  '%',
  '%00',
  '\u0000',
  '\n',
  '\r\n',
  ' ',
  '=',
  ';',
  ',',
  '"',
  '\\',
  '/',
  '+',
  '*',
  '&',
  '!',
  '{',
  '[',
  '|',
  '>',
  '#',
  '---',
  '\u00ff',
  '\ud800',
  '\u202e',
  'v1',
  'v2',
  'A'.repeat(5000),
];

/** one random mutation of a string (of printable, URL-ish text) */
function mutate(rnd: Rng, s: string): string {
  const at = rnd.int(s.length + 1);
  switch (rnd.int(9)) {
    case 0: {
      // flip a character to another of the base64url alphabet
      if (s.length === 0) return rnd.pick(NASTY);
      const i = rnd.int(s.length);
      return s.slice(0, i) + rnd.pick([...B64URL]) + s.slice(i + 1);
    }
    case 1:
      return s.slice(0, at); // truncate
    case 2:
      return s.slice(at); // drop a head
    case 3:
      return s.slice(0, at) + rnd.pick(NASTY) + s.slice(at); // insert
    case 4: {
      // delete a span
      const end = Math.min(s.length, at + 1 + rnd.int(8));
      return s.slice(0, at) + s.slice(end);
    }
    case 5:
      return s + s.slice(rnd.int(s.length)); // extend with a copy of itself
    case 6: {
      // swap two parts around a separator
      const parts = s.split('.');
      if (parts.length < 2) return `${s}.${s}`;
      const i = rnd.int(parts.length);
      const j = rnd.int(parts.length);
      [parts[i], parts[j]] = [parts[j] as string, parts[i] as string];
      return parts.join('.');
    }
    case 7:
      return rnd.bytes(rnd.int(200)).toString('base64url');
    default: {
      // bit flip on the decoded bytes of one part
      const parts = s.split('.');
      const i = rnd.int(parts.length);
      const bytes = Buffer.from(parts[i] as string, 'base64url');
      if (bytes.length > 0) {
        const b = rnd.int(bytes.length);
        bytes[b] = (bytes[b] as number) ^ (1 << rnd.int(8));
      }
      parts[i] = bytes.toString('base64url');
      return parts.join('.');
    }
  }
}

function mutateN(rnd: Rng, s: string): string {
  let out = s;
  for (let k = 1 + rnd.int(3); k > 0; k--) out = mutate(rnd, out);
  return out;
}

describe('the configuration loader', () => {
  const seed = fuzzSeed(7001);
  const valid = baseRawConfig('http://127.0.0.1:3001', 'http://127.0.0.1:3002');

  /** what an accepted configuration must satisfy */
  function checkAccepted(config: ReturnType<typeof loadConfigText>['config']): void {
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.sites.staff.hosts));
    const table = buildSiteTable(config);
    for (const site of table.sites) {
      for (const h of site.hosts) {
        const plain = h.startsWith('*.') ? h.slice(2) : h;
        assert.equal(canonicalHost(plain), plain, `host ${JSON.stringify(h)} is canonical`);
      }
      const u = new URL(site.upstream);
      assert.ok(u.protocol === 'http:' || u.protocol === 'https:');
      for (const p of [...site.publicPrefixes, ...site.publicExact]) assert.ok(p.startsWith('/') && !p.toLowerCase().startsWith('/.auth'), p);
    }
    assert.ok(config.keys.session.length > 0 && config.keys.signing.length > 0 && config.keys.encryption.length > 0);
  }

  test(`mutated YAML text: a configuration or a ConfigError, nothing else (seed ${seed})`, (t) => {
    const rnd = prng(seed);
    const text = stringify(valid);
    const lines = text.split('\n');
    const extras = [
      'x: &a [1, 2]\ny: *a',
      'z: *undefined_anchor',
      '<<: {a: 1}',
      '__proto__: {polluted: true}',
      'constructor: {prototype: {x: 1}}',
      '!!binary AAAA',
      '%TAG ! tag:x,2000:\n---',
      'a: !!js/regexp /x/',
      '- x',
      '{',
      '"',
      '\t\tkey: v',
    ];
    let accepted = 0;
    const n = iterations(1_500, 150_000);
    for (let i = 0; i < n; i++) {
      let candidate: string;
      const kind = rnd.int(4);
      if (kind === 0) candidate = mutateN(rnd, text);
      else if (kind === 1) {
        const copy = [...lines];
        const at = rnd.int(copy.length);
        copy.splice(at, rnd.int(3), ...(rnd.int(2) ? [rnd.pick(extras)] : []));
        candidate = copy.join('\n');
      } else if (kind === 2) candidate = lines.map((l) => (rnd.int(20) === 0 ? mutate(rnd, l) : l)).join('\n');
      else candidate = `${text}\n${rnd.pick(extras)}`;
      try {
        const loaded = loadConfigText(candidate);
        accepted++;
        checkAccepted(loaded.config);
      } catch (err) {
        if (!(err instanceof ConfigError)) {
          assert.fail(`iteration ${i}: ${(err as Error).name}: ${(err as Error).message.slice(0, 200)}\n--- input ---\n${candidate.slice(0, 600)}`);
        }
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    t.diagnostic(`${n} inputs, ${accepted} accepted`);
  });

  test('alias expansion bombs and unresolved aliases are ConfigErrors', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array.from({ length: 9 }, () => `*${'abcdefg'[i]}`).join(', ')}]`),
    ].join('\n');
    for (const text of [bomb, 'sites: *nowhere', `${stringify(valid)}\nextra: *missing`]) {
      assert.throws(() => loadConfigText(text), ConfigError, text.slice(0, 40));
    }
  });

  test(`mutated configuration objects: a configuration or a ConfigError (seed ${seed + 1})`, (t) => {
    const rnd = prng(seed + 1);
    const values = [
      null,
      undefined,
      0,
      -1,
      1e308,
      NaN,
      '',
      'x',
      '${NOPE}',
      'file:/nonexistent',
      '*.',
      '*.*.x',
      'EVIL.TEST.',
      'http://u:p@h/',
      'javascript:alert(1)',
      [],
      {},
      [null],
      { __proto__: { x: 1 } },
      'A'.repeat(10_000),
      true,
    ];
    let accepted = 0;
    const n = iterations(1_500, 150_000);
    for (let i = 0; i < n; i++) {
      const copy = structuredClone<Record<string, unknown>>(valid);
      // walk to a random node and replace, delete or add something there
      for (let edits = 1 + rnd.int(3); edits > 0; edits--) {
        let node: Record<string, unknown> = copy;
        for (let depth = 0; depth < 6; depth++) {
          const keys = Object.keys(node);
          if (keys.length === 0) break;
          const k = rnd.pick(keys);
          const next = node[k];
          if (next !== null && typeof next === 'object' && rnd.int(3) > 0) node = next as Record<string, unknown>;
          else {
            const op = rnd.int(3);
            if (op === 0) node[k] = structuredClone(rnd.pick(values));
            else if (op === 1) delete node[k];
            else node[`${k}${rnd.pick(['', 'x', '_', '.'])}`] = structuredClone(rnd.pick(values));
            break;
          }
        }
      }
      try {
        checkAccepted(loadConfigObject(copy).config);
        accepted++;
      } catch (err) {
        if (!(err instanceof ConfigError))
          assert.fail(`iteration ${i}: ${(err as Error).name}: ${(err as Error).message.slice(0, 200)}\n${JSON.stringify(copy).slice(0, 600)}`);
      }
    }
    t.diagnostic(`${n} inputs, ${accepted} accepted`);
  });
});

describe('the cookie, ticket and state decoders', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ central: true });
  });
  after(() => env.close());

  test(`the secret box: a mutated sealed value never opens to anything but its plaintext (seed ${fuzzSeed(7101)})`, () => {
    const rnd = prng(fuzzSeed(7101));
    const box = env.core.secretBox;
    const plaintext = JSON.stringify({ id: 'ticket-1', uid: 'u', exp: 1 });
    const sealed = box.seal(plaintext, 'aad-1');
    let opened = 0;
    for (let i = 0; i < iterations(5_000, 500_000); i++) {
      const candidate = mutateN(rnd, sealed);
      for (const aad of ['aad-1', 'aad-2']) {
        try {
          const out = box.open(candidate, aad);
          assert.equal(aad, 'aad-1', `opened under another aad: ${candidate}`);
          assert.equal(out, plaintext, `a forgery opened: ${candidate}`);
          opened++;
        } catch (err) {
          if (!(err instanceof SecretBoxError)) assert.fail(`${(err as Error).name} for ${JSON.stringify(candidate).slice(0, 200)}`);
        }
      }
    }
    assert.ok(opened < iterations(5_000, 500_000) / 10, `${opened} mutations opened (equivalent encodings only)`);
  });

  test(`the central callback's sealed state and the admin-consent state (seed ${fuzzSeed(7201)})`, () => {
    const rnd = prng(fuzzSeed(7201));
    const app = env.core;
    const original = { id: 'attempt', nonce: 'n', verifier: 'v', clientId: 'acme', tenantId: TENANTS.acme, host: HOSTS.acme, exp: Date.now() + 600_000 };
    const state = sealCentralState(app, original);
    const consent = signConsentState(app, 'acme', TENANTS.acme).state;
    const consentOriginal = verifyConsentState(app, consent);
    assert.ok(consentOriginal.ok);
    for (let i = 0; i < iterations(5_000, 500_000); i++) {
      const s = mutateN(rnd, state);
      const opened = openCentralState(app, s);
      if (opened !== null) assert.deepEqual(opened, original, `a forged state opened: ${s}`);
      const c = mutateN(rnd, consent);
      const checked = verifyConsentState(app, c);
      if (checked.ok) assert.deepEqual(checked, consentOriginal, `a forged consent state verified: ${c}`);
    }
  });

  test(`session and flow cookies over HTTP: 401 or the original identity, never a 5xx (seed ${fuzzSeed(7301)})`, async (t) => {
    const rnd = prng(fuzzSeed(7301));
    const gw = env.gw;
    const cookie = await gw.sessionCookie(HOSTS.staff, { email: 'fuzz@example.com' });
    const [name, value] = [cookie.slice(0, cookie.indexOf('=')), cookie.slice(cookie.indexOf('=') + 1)];
    const decoded = decodeURIComponent(value);
    const original = JSON.stringify(gw.app.decodeSecureSession(decoded, undefined, 'session')?.get('s'));
    let accepted = 0;
    const n = iterations(250, 40_000);
    for (let i = 0; i < n; i++) {
      const mutated = mutateN(rnd, decoded);
      // in-process: the decoder itself
      let inProcess: string | undefined;
      try {
        inProcess = JSON.stringify(gw.app.decodeSecureSession(mutated, undefined, 'session')?.get('s'));
      } catch (err) {
        assert.fail(`the cookie decoder threw ${(err as Error).name} for ${JSON.stringify(mutated).slice(0, 120)}`);
      }
      if (inProcess !== undefined) assert.equal(inProcess, original, `a forged cookie decoded: ${mutated}`);
      // over HTTP, as the session cookie and as the flow cookie
      // %-encoded as a browser would send it, or as written (minus what no header may hold)
      const header = rnd.int(2) ? `${name}=${encodeURIComponent(mutated.toWellFormed())}` : `${name}=${mutated.replace(/[^\x21-\x7e]|;/g, '')}`;
      const res = await gw.request(HOSTS.staff, '/.auth/me', { headers: { cookie: header } });
      const body = await res.body.text();
      // 431: a mutation grew the cookie past server.maxHeaderBytes (refused before any decoding)
      assert.ok([200, 400, 401, 431].includes(res.statusCode), `${res.statusCode}: ${body.slice(0, 200)}`);
      if (res.statusCode === 200) {
        accepted++;
        assert.equal((JSON.parse(body) as { email: string }).email, 'fuzz@example.com');
      }
      const flow = await gw.request(HOSTS.staff, '/.auth/login/totp', {
        headers: { cookie: `${name}_flow=${encodeURIComponent(mutated.toWellFormed())}`, accept: 'text/html' },
      });
      await flow.body.dump();
      assert.ok(flow.statusCode < 500, `flow cookie: ${flow.statusCode}`);
    }
    t.diagnostic(`${n} mutated cookies, ${accepted} decoded to the original (equivalent encodings)`);
  });

  test(`hand-off tickets and central states over HTTP: 400, never a 5xx or a session (seed ${fuzzSeed(7401)})`, async (t) => {
    const rnd = prng(fuzzSeed(7401));
    const browser = env.browser();
    const callback = new URL(await browser.atMicrosoft(await browser.start(HOSTS.acme, '/x'), USERS.alice.oid));
    const state = callback.searchParams.get('state') as string;
    const central = await browser.open(callback);
    assert.equal(central.status, 303);
    const handoff = new URL(central.location as string);
    const ticket = handoff.searchParams.get('ticket') as string;
    const box = env.core.secretBox;
    const aad = `entra.handoff.v1:${HOSTS.acme}`;
    const plaintext = box.open(ticket, aad);
    const tokenCalls = env.fe.tokenRequests.length;
    let sessions = 0;
    const n = iterations(200, 30_000);
    for (let i = 0; i < n; i++) {
      const t1 = mutateN(rnd, ticket);
      const res = await env.gw.request(HOSTS.acme, `/.auth/handoff?ticket=${encodeURIComponent(t1.toWellFormed())}`, {
        headers: { accept: 'application/json', cookie: browser.cookieHeader(HOSTS.acme) ?? '' },
      });
      await res.body.dump();
      if (res.statusCode === 303) {
        sessions++;
        let same: boolean;
        try {
          same = box.open(t1.toWellFormed(), aad) === plaintext;
        } catch {
          same = false; // the forgery does not even open: the sign-in is wrong
        }
        assert.ok(same, `a forged ticket signed in: ${t1}`);
      } else assert.ok([400, 414, 431].includes(res.statusCode), `ticket ${JSON.stringify(t1).slice(0, 80)}: ${res.statusCode}`);
      const s1 = mutateN(rnd, state);
      const cb = new URL(callback);
      cb.searchParams.set('state', s1.toWellFormed());
      const r2 = await env.gw.request(HOSTS.central, `${cb.pathname}${cb.search}`, { headers: { accept: 'application/json' } });
      await r2.body.dump();
      assert.ok([400, 403, 414, 431].includes(r2.statusCode), `state: ${r2.statusCode}`);
      assert.equal(r2.headers.location, undefined);
    }
    assert.ok(sessions <= 1, 'a ticket is used once');
    assert.equal(env.fe.tokenRequests.length, tokenCalls, 'no mutated state got as far as redeeming the code');
    t.diagnostic(`${n} mutated tickets and states`);
  });
});
