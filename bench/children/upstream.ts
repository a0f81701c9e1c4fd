/** The benchmark's upstream: node:http answering every request with a small JSON body (or SIZE bytes with ?bytes=). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ready } from '../processes.ts';

const small = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream', items: [1, 2, 3, 4, 5] }));

const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    const q = req.url?.indexOf('?bytes=') ?? -1;
    const body = q === -1 ? small : Buffer.alloc(Number(req.url?.slice(q + 7)) || 0, 97);
    res.writeHead(200, { 'content-type': q === -1 ? 'application/json' : 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  ready({ url: `http://127.0.0.1:${port}` }, () => new Promise((r) => server.close(() => r())));
});
