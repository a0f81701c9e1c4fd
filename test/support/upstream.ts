/**
 * Sample upstreams for tests: a real HTTP server that echoes what it received
 * (method, url, headers, body size) as JSON, with switches for slow and failing
 * behaviour, and a WebSocket echo.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly rawHeaders: string[];
  readonly bodyBytes: number;
}

export interface Upstream {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** every request received, in order */
  readonly received: Echo[];
  /** every WebSocket connection accepted, in order (url and headers of the upgrade request) */
  readonly upgrades: Pick<Echo, 'url' | 'headers'>[];
  /** delay before answering (ms) */
  delayMs: number;
  close(): Promise<void>;
}

export async function startUpstream(name = 'upstream'): Promise<Upstream> {
  const received: Echo[] = [];
  const state = { delayMs: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const echo: Echo = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: bytes };
      received.push(echo);
      const u = new URL(req.url ?? '/', 'http://x');
      const send = () => {
        if (u.pathname === '/big') {
          const size = Number(u.searchParams.get('bytes') ?? 1_000_000);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
          const chunk = Buffer.alloc(65_536, 97);
          let left = size;
          const pump = () => {
            while (left > 0) {
              const n = Math.min(left, chunk.length);
              left -= n;
              if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
            }
            res.end();
          };
          return pump();
        }
        if (u.pathname === '/set-cookie') {
          res.setHeader('set-cookie', ['app=1; Path=/', 'regentra_session=evil; Path=/', '__Host-regentra_session=evil; Path=/; Secure']);
        }
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
        res.end(JSON.stringify(echo));
      };
      if (state.delayMs > 0) setTimeout(send, state.delayMs);
      else send();
    });
  });
  const wss = new WebSocketServer({ server });
  const upgrades: Pick<Echo, 'url' | 'headers'>[] = [];
  wss.on('connection', (ws, req) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    ws.send(JSON.stringify({ hello: name, url: req.url, headers: req.headers }));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const up: Upstream = {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    received,
    upgrades,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return up;
}

/** a local port with nothing listening on it: an upstream that is down, or a port to listen on later */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
