/**
 * The benchmark's upstream: node:http answering every request with a small JSON
 * body (or SIZE bytes of it with ?bytes=SIZE), after reading (and discarding) any
 * request body; and a WebSocket echo (greets each connection, then echoes).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ready } from '../processes.ts';

const small = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream', items: [1, 2, 3, 4, 5] }));
const sized = new Map<number, Buffer>();

const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    const q = req.url?.indexOf('?bytes=') ?? -1;
    let body: Buffer = small;
    if (q !== -1) {
      const n = Math.min(Number(req.url?.slice(q + 7)) || 0, 64 * 1024 * 1024);
      body = sized.get(n) ?? Buffer.alloc(n, 97);
      sized.set(n, body);
    }
    res.writeHead(200, { 'content-type': q === -1 ? 'application/json' : 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.send('hello');
  ws.on('message', (data, binary) => ws.send(data, { binary }));
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  ready(
    { url: `http://127.0.0.1:${port}` },
    () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
});
