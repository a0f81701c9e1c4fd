/**
 * Helpers for the adversarial suites (test/security, test/reliability): raw TCP
 * exchanges (for what HTTP clients would normalise away), a seeded PRNG, the
 * soak switch, the open-redirect payloads, and a few small statistics.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

/** `SOAK=1` (npm run test:soak) raises iteration counts and durations. */
export const SOAK = process.env.SOAK === '1';

/** `n` in CI, `soak` under SOAK=1. */
export function iterations(n: number, soak: number): number {
  return SOAK ? soak : n;
}

/** The 559 open-redirect payloads of shared/testdata beside the repository (one a line; the first is the empty target). */
export const REDIRECT_PAYLOADS: readonly string[] = readFileSync(new URL('../../../shared/testdata/open-redirects.txt', import.meta.url), 'utf8')
  .replace(/\n$/, '')
  .split('\n')
  .map((l) => l.replace(/\r$/, ''));

/** Host tricks: a configured host name as a prefix or suffix of another, without a dot boundary. */
export const HOST_TRICKS: readonly string[] = Object.freeze([
  'support.acme.test.evil.tld',
  'evilsupport.acme.test',
  'evilacme.support.example.test',
  'acme.support.example.test.evil.tld',
  'staff.example.test.evil.tld',
  'evilstaff.example.test',
  'support.acme.test@evil.tld',
  'evil.tld#support.acme.test',
  'evil.tld?support.acme.test',
  'evil.tld\\support.acme.test',
]);

export interface RawReply {
  /** every byte received, as latin1 text */
  readonly text: string;
  /** the server closed the connection (before `waitMs` ran out) */
  readonly closed: boolean;
  /** status codes of every response in `text`, in order */
  readonly statuses: number[];
  /** ms from the first byte written to the close (or to the end of the wait) */
  readonly ms: number;
}

/**
 * Write `data` to the gateway over a fresh TCP connection (optionally in pieces with
 * a pause between them), collect everything it sends back until it closes the
 * connection or `waitMs` passes after the last write.
 */
export function rawExchange(
  port: number,
  data: string | Buffer | ReadonlyArray<string | Buffer>,
  opts: { waitMs?: number; pauseMs?: number } = {},
): Promise<RawReply> {
  const parts = Array.isArray(data) ? data : [data];
  const waitMs = opts.waitMs ?? 1_000;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      socket.destroy();
      resolve({ text, closed, statuses: statusesOf(text), ms: performance.now() - started });
    };
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    const send = async () => {
      for (let i = 0; i < parts.length; i++) {
        if (socket.destroyed) return;
        socket.write(parts[i] as string | Buffer);
        if (opts.pauseMs && i < parts.length - 1) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
      if (!closed) timer = setTimeout(finish, waitMs);
    };
    socket.once('connect', () => void send());
  });
}

export function statusesOf(text: string): number[] {
  // a status line starts each response; bodies here never contain one
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) [A-Z]/g)].map((m) => Number(m[1]));
}

/** The header block of the first response in a raw reply, lower-cased names. */
export function firstHeaders(text: string): Record<string, string> {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  const out: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}

/** Deterministic PRNG (mulberry32); the seed is printed by the tests that use it. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; bytes(n: number): Buffer } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(xs: readonly T[]) => xs[int(xs.length)] as T,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}

/** The seed of a fuzz run: FUZZ_SEED, else a fixed one (deterministic CI), else random under SOAK. */
export function fuzzSeed(fixed: number): number {
  if (process.env.FUZZ_SEED) return Number(process.env.FUZZ_SEED);
  return SOAK ? Math.floor(Math.random() * 2 ** 31) : fixed;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Mann-Whitney U as the probability of superiority: P(a > b) + ½·P(a = b) over all
 * pairs (0.5 when the two samples come from one distribution, 1 or 0 when one is
 * always larger).
 */
export function superiority(a: readonly number[], b: readonly number[]): number {
  let u = 0;
  for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
  return u / (a.length * b.length);
}

/** Assert that no string in `haystacks` contains any of `secrets` (naming which one leaked, never its value). */
export function assertNoSecret(haystacks: readonly string[], secrets: Readonly<Record<string, string>>, where: string): void {
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret.length >= 8, `secret ${name} is long enough to search for`);
    const hit = haystacks.findIndex((h) => h.includes(secret));
    assert.equal(hit, -1, `${name} leaked in ${where} (item ${hit})`);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WireTap {
  /** the port to point a site's upstream at (http://127.0.0.1:PORT) */
  readonly port: number;
  readonly url: string;
  /** every byte the gateway sent towards the upstream, per connection, as latin1 text */
  readonly connections: readonly string[];
  /** all of it */
  text(): string;
  clear(): void;
  close(): Promise<void>;
}

/**
 * A transparent TCP relay in front of an upstream that records every byte the gateway
 * sends (headers, bodies, trailers): what the upstream's own HTTP parser would see,
 * before any normalisation.
 */
export async function wireTap(targetPort: number): Promise<WireTap> {
  const { createServer } = await import('node:net');
  let records: Array<{ text: string }> = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    const record = { text: '' };
    records.push(record);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d: Buffer) => {
      record.text += d.toString('latin1');
    });
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return records.map((r) => r.text);
    },
    text: () => records.map((r) => r.text).join(''),
    clear: () => {
      // drop open relayed connections too, so that nothing left over from an earlier exchange is recorded
      for (const s of sockets) s.destroy();
      records = [];
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Request lines at the start of each message in raw upstream traffic (a rough count of requests sent). */
export function requestLines(wire: string): string[] {
  return [...wire.matchAll(/(?:^|\r\n)([A-Z]{3,10} \S+ HTTP\/1\.[01])\r\n/g)].map((m) => m[1] as string);
}

/** The body of the first response in a raw reply (chunked or Content-Length framing). */
export function firstBody(text: string): string {
  const start = text.indexOf('\r\n\r\n');
  if (start === -1) return '';
  const headers = firstHeaders(text);
  let rest = text.slice(start + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let out = '';
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol === -1) break;
      const size = parseInt(rest.slice(0, eol), 16);
      if (!Number.isFinite(size) || size === 0) break;
      out += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    return Buffer.from(out, 'latin1').toString('utf8');
  }
  const length = Number(headers['content-length'] ?? rest.length);
  return Buffer.from(rest.slice(0, length), 'latin1').toString('utf8');
}
