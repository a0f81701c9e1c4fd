/**
 * Browser end-to-end tests: the whole product wired as `npm start` wires it (demo/start.ts),
 * but on random ports and an in-memory store — the gateway on `localhost:<port>` (both
 * 127.0.0.1 and ::1), the local Entra ID stand-in, the two sample backends that verify the
 * signed identity header — driven by Debian's Chromium through playwright-core.
 *
 * Hosts are `*.localhost` names (Chromium resolves them to loopback without DNS).
 * Every test file saves a full-page screenshot of every page it passes under
 * `test/artifacts/<flow>/NN-<step>.png` (git-ignored), and runs axe-core (WCAG 2.2 A/AA) on
 * every one of them that the gateway rendered (assertAccessible).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildGateway, type GatewayApp } from '../../src/app.ts';
import type { Core } from '../../src/core.ts';
import { loadConfigObject } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store, User } from '../../src/store/types.ts';
import { createLocalUser } from '../../src/auth/password/users.ts';
import { enrolTotp } from '../../dev/seed.ts';
import { currentTotpCode } from '../../src/auth/totp/totp.ts';
import { PATHS } from '../../src/routing/reserved.ts';
import { startFakeEntra, type FakeEntra } from '../../dev/fake-entra/index.ts';
import { ecPem, key32 } from '../support/keys.ts';
import { closedPort } from '../support/upstream.ts';
import { startSampleBackend, type SampleBackend } from '../../examples/backend/server.ts';
import { DEMO } from '../../demo/fixtures.ts';

export { DEMO };

export const HOSTS = Object.freeze({ staff: 'staff.localhost', acme: 'acme.localhost', globex: 'globex.localhost' });
export const ISSUER = 'regentra-gateway-e2e';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Paths under which the recorded apps' pages are cacheable (see recordedSampleApp). */
export const CACHEABLE_PREFIX = '/cacheable/';

/** A sample backend behind a pass-through that records every request reaching it. */
export interface RecordedApp {
  readonly url: string;
  /** every request that reached the app, in order */
  readonly received: Array<{ host: string; url: string }>;
  close(): Promise<void>;
}

async function recordedSampleApp(opts: { name: string; audience: string; accent: string; jwksUrl: string }): Promise<RecordedApp> {
  const app: SampleBackend = await startSampleBackend({
    port: 0,
    name: opts.name,
    audience: opts.audience,
    issuer: ISSUER,
    jwksUrl: opts.jwksUrl,
    accent: opts.accent,
  });
  const target = new URL(app.url);
  const received: RecordedApp['received'] = [];
  const front: Server = createServer((req, res) => {
    received.push({ host: String(req.headers.host), url: req.url ?? '' });
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      // under /cacheable/ the app behaves like one that forgot to mark its pages private
      // (the sample app sends no-store): the browser may keep them (sign-out must clear them)
      if (req.url?.startsWith(CACHEABLE_PREFIX)) up.headers['cache-control'] = 'private, max-age=600';
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((done) => front.listen(0, '127.0.0.1', done));
  const { port } = front.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      front.closeAllConnections();
      await new Promise<void>((done) => front.close(() => done()));
      await app.close();
    },
  };
}

export interface Stack {
  readonly port: number;
  readonly fe: FakeEntra;
  readonly app: GatewayApp;
  readonly core: Core;
  readonly config: Config;
  readonly store: Store;
  readonly staffApp: RecordedApp;
  readonly portalApp: RecordedApp;
  /** `http://<host>:<port>` */
  origin(host: string): string;
  close(): Promise<void>;
}

/**
 * The stand-in (Regentra's staff directory, Acme, Contoso; the single-tenant staff app and
 * the multi-tenant portal app registered with this port's redirect URIs), the sample apps
 * and a gateway. No SSO settings are stored: the tests configure them through the pages.
 */
export async function startStack(): Promise<Stack> {
  // free a moment ago: the Entra app registrations need the port before the gateway listens
  const port = await closedPort();
  const origin = (host: string) => `http://${host}:${port}`;
  const portalHosts = [HOSTS.acme, HOSTS.globex];
  const fe = await startFakeEntra({
    tenants: DEMO.tenants.map((t) => ({ id: t.id, name: t.name, users: t.users.map((u) => ({ ...u })) })),
    apps: [
      {
        ...DEMO.staffApp,
        multiTenant: false,
        redirectUris: [`${origin(HOSTS.staff)}${PATHS.callback}`, `${origin(HOSTS.staff)}${PATHS.signedOut}`],
        optionalClaims: ['xms_edov', 'login_hint'],
      },
      {
        ...DEMO.portalApp,
        multiTenant: true,
        redirectUris: [
          ...portalHosts.map((h) => `${origin(h)}${PATHS.callback}`),
          ...portalHosts.map((h) => `${origin(h)}${PATHS.signedOut}`),
          `${origin(HOSTS.staff)}${PATHS.consentCallback}`,
        ],
        optionalClaims: ['xms_edov', 'login_hint'],
      },
    ],
  });
  const jwksUrl = `http://127.0.0.1:${port}${PATHS.jwks}`;
  const staffApp = await recordedSampleApp({ name: 'Regentra staff app (sample)', audience: 'staff', accent: '#3346d3', jwksUrl });
  const portalApp = await recordedSampleApp({ name: 'Support portal (sample)', audience: 'portal', accent: '#0e7c66', jwksUrl });

  const { config } = loadConfigObject({
    server: { host: 'localhost', port, publicScheme: 'http', publicPort: port },
    ops: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    store: { driver: 'sqlite', path: ':memory:' },
    keys: { session: [key32()], signing: [{ privateKey: ecPem() }], encryption: [{ id: 'e2e', key: key32() }] },
    session: { secure: false },
    identity: { issuer: ISSUER },
    entra: { authorityHost: fe.url, graphUrl: fe.graphUrl, graphResource: fe.graphResource, allowInsecure: true },
    sites: {
      staff: { hosts: [HOSTS.staff], upstream: staffApp.url, audience: 'staff', publicPaths: ['/health', '/assets/'] },
      portal: {
        upstream: portalApp.url,
        audience: 'portal',
        publicPaths: ['/assets/'],
        entra: { clientId: DEMO.portalApp.clientId, clientSecret: DEMO.portalApp.clientSecret },
        // Globex first: choosing Acme in the settings' client switcher is a real choice
        clients: [
          { id: 'globex', name: 'Globex', hosts: [HOSTS.globex] },
          { id: 'acme', name: 'Acme Corp', hosts: [HOSTS.acme] },
        ],
      },
    },
  });
  const store = await openStore({ driver: 'sqlite', path: ':memory:' });
  const { app, core } = await buildGateway(config, { store, logger: false });
  await app.listen({ host: 'localhost', port });

  return {
    port,
    fe,
    app,
    core,
    config,
    store,
    staffApp,
    portalApp,
    origin,
    async close() {
      await app.close();
      await store.close();
      await Promise.allSettled([fe.close(), staffApp.close(), portalApp.close()]);
    },
  };
}

export interface LocalAccount {
  readonly user: User;
  readonly email: string;
  readonly password: string;
  /** the TOTP secret when enrolled up front */
  readonly secret: string | null;
}

/** A local account as the CLI makes it; `totp: true` enrols TOTP up front (as demo seeding does). */
export async function createAccount(
  stack: Stack,
  input: { realm: string; email: string; name: string; role: 'admin' | 'member'; password: string; totp?: boolean },
): Promise<LocalAccount> {
  const user = await createLocalUser(stack.store, { ...input, minLength: stack.config.auth.password.minLength, actor: 'e2e' });
  const secret = input.totp ? (await enrolTotp(stack.store, stack.core.secretBox, user, { actor: 'e2e' })).secret : null;
  return { user, email: input.email, password: input.password, secret };
}

/** The code an authenticator app shows `steps` 30-second steps from now. */
export function totpCode(secret: string, steps = 0): Promise<string> {
  return currentTotpCode(secret, Date.now() + steps * 30_000);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'UTC' });
}

/** Numbered full-page screenshots of one flow under test/artifacts/<flow>/ (emptied first). */
export class Shots {
  readonly dir: string;
  readonly files: string[] = [];
  readonly flow: string;
  constructor(flow: string) {
    this.flow = flow;
    this.dir = resolve(root, 'test/artifacts', flow);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  async take(page: Page, step: string): Promise<void> {
    const file = resolve(this.dir, `${String(this.files.length + 1).padStart(2, '0')}-${step}.png`);
    this.files.push(file);
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    // every state of a gateway page a flow passes is checked against WCAG 2.2 AA
    // (the stand-in's and the sample apps' pages are not ours)
    if (await isGatewayPage(page)) await assertAccessible(page, `${this.flow} / ${step}`);
  }
}

/** The value the sample app shows in its "Who is signed in" table for `label`. */
export async function identityRow(page: Page, label: string): Promise<string> {
  return ((await page.locator(`xpath=//tr[th[normalize-space()="${label}"]]/td`).first().textContent()) ?? '').trim();
}

/**
 * GET /.auth/me from the page (it must be on a gateway host): fetched by the page itself,
 * with its cookies (Node cannot resolve *.localhost). `body` is null when signed out.
 */
export async function whoAmI(page: Page): Promise<{ status: number; body: Record<string, unknown> | null }> {
  return page.evaluate(async (path) => {
    const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
    return { status: res.status, body: res.ok ? ((await res.json()) as Record<string, unknown>) : null };
  }, PATHS.me);
}

/** path + query of a page's URL */
export function pathOf(page: Page): string {
  const u = new URL(page.url());
  return `${u.pathname}${u.search}`;
}

/** axe-core's browser bundle (WCAG checks), read once. */
let axeSource: string | null = null;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Runs axe-core in the page with the WCAG 2.0/2.1/2.2 A and AA rules and throws a readable
 * list of the violations (rule, impact, targets, help). The source is evaluated through the
 * DevTools protocol (page.evaluate), which the pages' strict CSP does not govern — a
 * `<script>` tag (addScriptTag) would be refused by `script-src 'self'`, as it should be.
 */
export async function assertAccessible(page: Page, label: string): Promise<void> {
  axeSource ??= readFileSync(resolve(root, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(`${axeSource};void 0`);
  // (page code as a string: this project's TypeScript has no DOM types)
  const violations = await page.evaluate<
    Array<{ id: string; impact: string | null; help: string; targets: string[] }>
  >(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} }, resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(' ')) })))`);
  if (violations.length === 0) return;
  const lines = violations.map((v) => `  - ${v.id} (${v.impact ?? 'n/a'}): ${v.help}\n      ${v.targets.join('\n      ')}`);
  throw new Error(`accessibility violations on ${label} (${page.url()}):\n${lines.join('\n')}`);
}

/** Whether the page is one the gateway rendered (its layout's footer) rather than an app's or the stand-in's. */
export async function isGatewayPage(page: Page): Promise<boolean> {
  return page.evaluate<boolean>(`document.querySelector('footer.foot')?.textContent?.trim() === 'Protected by Regentra Gateway'`);
}

/**
 * WCAG contrast ratio of colour `fg` on the opaque colour `bg` (both computed CSS `rgb()`/`rgba()`);
 * a translucent `fg` is first blended over `bg`, as the browser paints it.
 */
export function contrastRatio(fg: string, bg: string): number {
  const parse = (css: string): [number, number, number, number] => {
    // eslint-disable-next-line security/detect-unsafe-regex -- anchored, no nested quantifiers: linear
    const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(css);
    if (!m) throw new Error(`not an rgb() colour: ${css}`);
    return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  };
  const lum = (rgb: number[]): number => {
    const [r, g, b] = rgb.map((c) => {
      const s = c / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const back = parse(bg);
  if (back[3] !== 1) throw new Error(`translucent background: ${bg}`);
  const front = parse(fg);
  const painted = [0, 1, 2].map((i) => front[3] * front[i]! + (1 - front[3]) * back[i]!);
  const [x, y] = [lum(painted), lum(back)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

export interface FocusRing {
  readonly element: string;
  readonly style: string;
  readonly width: number;
  readonly color: string;
  /** the opaque background the outline is drawn on (the nearest ancestor's, the outline being offset outside the element) */
  readonly behind: string;
}

/**
 * Tabs through the page from the top (keyboard focus, so :focus-visible applies) and returns
 * the computed focus outline of every element that takes focus, once each.
 */
export async function focusRings(page: Page): Promise<FocusRing[]> {
  await page.evaluate(`document.activeElement?.blur(); window.getSelection()?.removeAllRanges()`);
  const rings: FocusRing[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const ring = await page.evaluate<(FocusRing & { key: string }) | null>(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const text = el.textContent.trim();
      const element = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '') + (text ? ' "' + text.slice(0, 30) + '"' : '');
      const path = [];
      for (let e = el; e; e = e.parentElement) path.push(e.tagName + ':' + Array.prototype.indexOf.call(e.parentElement ? e.parentElement.children : [], e));
      let behind = 'rgb(255, 255, 255)';
      for (let e = el.parentElement; e; e = e.parentElement) {
        const bg = getComputedStyle(e).backgroundColor;
        if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') { behind = bg; break; }
      }
      const s = getComputedStyle(el);
      return { key: path.join('/'), element, style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, behind };
    })()`);
    if (!ring) continue;
    if (seen.has(ring.key)) break;
    seen.add(ring.key);
    rings.push({ element: ring.element, style: ring.style, width: ring.width, color: ring.color, behind: ring.behind });
  }
  return rings;
}
