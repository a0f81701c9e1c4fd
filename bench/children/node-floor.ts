/**
 * Node's floor for a proxy on this machine: node:http in, undici's dispatcher out,
 * the response written straight back — no framework, no routing, no authentication,
 * only the hop-by-hop headers dropped. Nothing written in Node can proxy with less
 * work per request; the gateway's engine (src/proxy/forward.ts) is this plus the gate.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { ready } from '../processes.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { workers: { type: 'string', default: '1' } } });
const upstreamArg = positionals[0];
if (!upstreamArg) throw new Error('usage: node-floor.ts UPSTREAM_URL [--workers N]');
const upstream: string = upstreamArg;
const workers = Number(values.workers);

// --workers N: node:cluster, N processes sharing the port (what two cores can give any Node proxy: issue #17's 2-worker row)
if (workers > 1 && cluster.isPrimary) {
  const port = await new Promise<number>((resolve) => {
    cluster.once('listening', (_worker, address) => resolve(address.port));
    for (let i = 0; i < workers; i++) cluster.fork();
  });
  ready({ url: `http://127.0.0.1:${port}` }, async () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  });
} else {
  serveFloor();
}

function serveFloor(): void {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection', 'expect']);

  const server = createServer((req, res) => {
    const headers: string[] = [];
    for (const name in req.headers) if (!HOP.has(name)) headers.push(name, req.headers[name] as string);
    const body = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined ? req : null;
    let resume: () => void = () => {};
    pool.dispatch(
      { path: req.url ?? '/', method: req.method as 'GET', headers, body },
      {
        onConnect() {},
        onHeaders(status: number, raw: Buffer[], r: () => void) {
          resume = r;
          const out: string[] = [];
          for (let i = 0; i < raw.length; i += 2) {
            const name = (raw[i] as Buffer).toString('latin1');
            if (!HOP.has(name.toLowerCase())) out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
          }
          res.writeHead(status, out);
          return true;
        },
        onData(chunk: Buffer) {
          if (res.write(chunk) || res.writableLength < 128 * 1024) return true;
          res.once('drain', resume);
          return false;
        },
        onComplete() {
          res.end();
        },
        onError() {
          if (res.headersSent) res.destroy();
          else res.writeHead(502).end();
        },
      },
    );
  });
  server.keepAliveTimeout = 72_000;
  server.listen(0, '127.0.0.1', () => {
    if (cluster.isWorker) return; // the primary reports the shared port
    ready({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.destroy();
    });
  });
}
