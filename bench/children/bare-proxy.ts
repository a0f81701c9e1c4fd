/** Baseline: a bare Fastify + @fastify/http-proxy (WebSockets on) in front of the upstream, no authentication. */
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { ready } from '../processes.ts';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: bare-proxy.ts UPSTREAM_URL');
const app = Fastify({ logger: false });
await app.register(httpProxy, { upstream, prefix: '/', websocket: true, undici: { connections: 128, keepAliveTimeout: 30_000 } });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
ready({ url }, () => app.close());
