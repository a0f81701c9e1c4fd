/**
 * Do password sign-ins stall proxied traffic? Measures the latency of proxied
 * requests (signed-in GETs through the gateway to a real upstream) while idle, then
 * while 20 password sign-ins run concurrently and continuously. Target: loaded p99
 * within 2× of idle p99. Not part of `npm test`.
 *
 *   node bench/signin-load.ts [--seconds 10] [--connections 10] [--signins 20]
 *
 * The gateway runs in a child process (this file with --serve), so the load
 * generator does not share its event loop.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

interface Served {
  readonly url: string;
  readonly host: string;
  readonly cookie: string;
  readonly email: string;
  readonly password: string;
}

const PASSWORD = 'bench mark passphrase';

async function serve(): Promise<void> {
  const { startGateway, HOSTS } = await import('../test/support/gateway.ts');
  const { createLocalUser } = await import('../src/auth/password/users.ts');
  const gw = await startGateway({
    configure: (raw) => {
      const portal = (raw.sites as { portal: { clients: Array<Record<string, unknown>> } }).portal;
      portal.clients[0] = { ...portal.clients[0], mfaRequired: false }; // acme: password only, one scrypt per sign-in
      return { ...raw, auth: { lockout: { maxFailures: 1_000_000 }, ipThrottle: { maxFailures: 1_000_000 } } };
    },
  });
  const site = gw.core.sites.lookup(HOSTS.acme);
  const user = await createLocalUser(gw.store, { realm: site!.realm, email: 'bench@example.com', name: 'Bench', password: PASSWORD, minLength: 12 });
  const served: Served = {
    url: gw.url,
    host: HOSTS.acme,
    cookie: await gw.sessionCookie(HOSTS.acme, { uid: user.id, email: user.email }),
    email: user.email,
    password: PASSWORD,
  };
  process.stdout.write(`${JSON.stringify(served)}\n`);
  process.once('SIGTERM', () => void gw.close().then(() => process.exit(0)));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** `connections` loops of signed-in proxied GETs for `seconds`; latencies in ms. */
async function proxiedLoad(s: Served, dispatcher: Agent, connections: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const start = performance.now();
        const res = await request(`${s.url}/api/bench`, { headers: { host: s.host, cookie: s.cookie }, dispatcher });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`proxied request answered ${res.statusCode}`);
        latencies.push(performance.now() - start);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/** One complete password sign-in (sign-in page, then the form); its duration in ms. */
async function signInOnce(s: Served, dispatcher: Agent): Promise<number> {
  const start = performance.now();
  const page = await request(`${s.url}/.auth/login?rd=%2F`, { headers: { host: s.host, accept: 'text/html' }, dispatcher });
  const body = await page.body.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';
  const setCookie = page.headers['set-cookie'];
  const flow = (Array.isArray(setCookie) ? setCookie : [setCookie ?? '']).map((c) => c.split(';')[0]).join('; ');
  const res = await request(`${s.url}/.auth/login`, {
    method: 'POST',
    headers: { host: s.host, cookie: flow, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ csrf, email: s.email, password: s.password }).toString(),
    dispatcher,
  });
  await res.body.dump();
  if (res.statusCode !== 303) throw new Error(`sign-in answered ${res.statusCode}`);
  return performance.now() - start;
}

function report(label: string, l: readonly number[], seconds: number): { p50: number; p99: number } {
  const p50 = percentile(l, 50);
  const p99 = percentile(l, 99);
  console.log(
    `${label.padEnd(28)} ${String(l.length).padStart(7)} req  ${(l.length / seconds).toFixed(0).padStart(6)} req/s  p50 ${p50.toFixed(2).padStart(7)} ms  p99 ${p99.toFixed(2).padStart(7)} ms  max ${(l.at(-1) ?? NaN).toFixed(2)} ms`,
  );
  return { p50, p99 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '10' }, signins: { type: 'string', default: '20' } },
  });
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const signins = Number(values.signins);

  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
  });
  const s = JSON.parse(first) as Served;
  const proxyAgent = new Agent({ connections });
  const signinAgent = new Agent({ connections: signins * 2 });
  try {
    await proxiedLoad(s, proxyAgent, connections, 2); // warm-up
    console.log(`proxied GETs with ${connections} connections, ${seconds} s each; gateway pid ${child.pid}`);
    const idle = report('idle', await proxiedLoad(s, proxyAgent, connections, seconds), seconds);

    let running = true;
    const signinTimes: number[] = [];
    const signers = Array.from({ length: signins }, async () => {
      while (running) signinTimes.push(await signInOnce(s, signinAgent));
    });
    const loaded = report(`during ${signins} sign-ins`, await proxiedLoad(s, proxyAgent, connections, seconds), seconds);
    running = false;
    await Promise.all(signers);
    signinTimes.sort((a, b) => a - b);
    console.log(
      `sign-ins completed: ${signinTimes.length} (${(signinTimes.length / seconds).toFixed(1)}/s), each p50 ${percentile(signinTimes, 50).toFixed(0)} ms, p99 ${percentile(signinTimes, 99).toFixed(0)} ms`,
    );
    const ratio = loaded.p99 / idle.p99;
    console.log(`p99 loaded / idle = ${ratio.toFixed(2)}× (target ≤ 2×): ${ratio <= 2 ? 'OK' : 'OVER TARGET'}`);
  } finally {
    await proxyAgent.close();
    await signinAgent.close();
    child.kill('SIGTERM');
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
