/**
 * PostgreSQL for tests: the test database (DATABASE_URL, default the machine's server on
 * 127.0.0.1:5432, database `test`), a schema per test run (dropSchemas() removes every one
 * handed out), an admin connection, and a TCP proxy in front of the database that can be
 * stopped (dropping every connection) and started again, to simulate an outage.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = `${process.pid}_${randomBytes(4).toString('hex')}`;

/** a fresh schema name for this run; dropSchemas() removes every one handed out */
const schemas: string[] = [];
export function testSchema(label: string): string {
  const schema = `regentra_test_${label}_${RUN_ID}`;
  schemas.push(schema);
  return schema;
}

export async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchemas(): Promise<void> {
  for (const schema of schemas.splice(0)) await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/** a URL for the same database through another host:port */
export function urlVia(port: number): string {
  const url = new URL(DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

export interface DatabaseProxy {
  /** the database URL through the proxy */
  readonly url: string;
  /** most connections open at once since start */
  readonly peakConnections: number;
  /** drop every connection and refuse new ones (the database "goes down") */
  stop(): Promise<void>;
  /** accept again on the same port */
  start(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** a TCP proxy to the test database */
export async function databaseProxy(): Promise<DatabaseProxy> {
  const target = new URL(DATABASE_URL);
  const clients = new Set<Socket>();
  let peak = 0;
  let server: Server | null = null;
  let port = 0;

  function handle(client: Socket): void {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    clients.add(client);
    peak = Math.max(peak, clients.size);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.on('close', () => {
        clients.delete(client);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  async function start(): Promise<void> {
    server = createServer(handle);
    port = await listen(server, port);
  }
  await start();

  return {
    url: urlVia(port),
    get peakConnections() {
      return peak;
    },
    async stop() {
      const s = server;
      server = null;
      const closed = s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve();
      for (const socket of clients) socket.destroy();
      await closed;
    },
    start,
  };
}
