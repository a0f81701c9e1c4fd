/**
 * WebSocket upgrades: once the gate has let the handshake through, the request is
 * sent to the upstream as an upgrade (undici), and if the upstream switches
 * protocols the two TCP connections are joined byte for byte, as nginx does. The
 * handshake (key, version, subprotocols, extensions such as permessage-deflate) is
 * agreed end to end; the gateway neither decodes nor re-frames messages.
 *
 * An upstream that answers without switching (403, 404…) has that answer relayed to
 * the client as it is; one that cannot be reached gets the 502/504 page.
 */
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'undici';
import { clientHeaders } from './headers.ts';
import { Exchange, type ExchangeHooks } from './forward.ts';

export interface UpgradeSocket {
  /** the client's connection, as node:http's 'upgrade' event gave it */
  readonly socket: Duplex;
  /** bytes the client sent after its handshake (the first frames, if any) */
  readonly head: Buffer;
}

export interface TunnelOptions {
  readonly pool: Pool;
  readonly path: string;
  readonly headers: string[];
  /** time allowed for the upstream's handshake answer */
  readonly timeoutMs: number;
  /** told about each joined pair; `close()` ends both connections */
  readonly track: (tunnel: { close(): void }, closed: Promise<void>) => void;
}

class Tunnel extends Exchange {
  readonly client: UpgradeSocket;
  readonly track: TunnelOptions['track'];

  constructor(request: FastifyRequest, reply: FastifyReply, hooks: ExchangeHooks, client: UpgradeSocket, track: TunnelOptions['track']) {
    super(request, reply, hooks, undefined, 0); // the handshake keeps undici's own timeouts (one per WebSocket, not per request)
    this.client = client;
    this.track = track;
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, upstream: Duplex): void {
    const { socket, head } = this.client;
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    const list = clientHeaders(headers ?? [], this.hooks.ownCookies, true);
    let response = `HTTP/1.1 ${statusCode} Switching Protocols\r\n`;
    for (let i = 0; i < list.length; i += 2) response += `${list[i]}: ${list[i + 1]}\r\n`;
    response += 'Connection: Upgrade\r\n\r\n';
    this.headersDone = true;
    this.reply.hijack();
    this.hooks.answered(this.request, statusCode, (performance.now() - this.started) / 1000);
    socket.write(response, 'latin1');
    if (head.length > 0) upstream.write(head);
    join(socket, upstream, this.track);
  }
}

function join(client: Duplex, upstream: Duplex, track: TunnelOptions['track']): void {
  for (const s of [client, upstream] as const) {
    const sock = s as Duplex & { setNoDelay?(on: boolean): void; setTimeout?(ms: number): void };
    sock.setNoDelay?.(true);
    sock.setTimeout?.(0);
  }
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const done = () => {
    client.destroy();
    upstream.destroy();
    resolveClosed();
  };
  client.once('close', done);
  upstream.once('close', done);
  // an error is always followed by 'close'
  client.on('error', () => {});
  upstream.on('error', () => {});
  client.pipe(upstream);
  upstream.pipe(client);
  track(
    {
      close() {
        client.end();
        upstream.end();
        setTimeout(done, 1_000).unref();
      },
    },
    closed,
  );
}

/** Send the upgrade to the upstream; on 101, join the connections. */
export function tunnel(request: FastifyRequest, reply: FastifyReply, client: UpgradeSocket, opts: TunnelOptions, hooks: ExchangeHooks): void {
  const t = new Tunnel(request, reply, hooks, client, opts.track);
  opts.pool.dispatch(
    {
      path: opts.path,
      method: 'GET',
      headers: opts.headers,
      upgrade: 'websocket',
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    },
    t,
  );
}
