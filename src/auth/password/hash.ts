/**
 * Password hashing: scrypt (memory-hard) from node:crypto with OWASP parameters
 * (N=2^14, r=8, p=5: 16 MiB per hash; one of the equivalent settings in the OWASP
 * Password Storage Cheat Sheet), stored PHC-style:
 *
 *   $scrypt$ln=14,r=8,p=5$<base64 salt>$<base64 key>
 *
 * The async `crypto.scrypt` runs on the libuv thread pool, never on the event loop.
 * At most HASH_CONCURRENCY hashes run at once (one CPU and one pool thread are left
 * for proxied traffic, fs and DNS); the rest wait in a bounded queue, and a full
 * queue fails fast with PasswordHashBusyError instead of growing without limit.
 *
 * verifyPassword does the same work for a missing or unreadable stored hash as for
 * a real one (it checks against DUMMY_HASH and answers false), so the answer and its
 * timing do not tell whether an account exists. Keys are compared in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

export const SCRYPT_PARAMS: ScryptParams = Object.freeze({ ln: 14, r: 8, p: 5 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** longer input is never hashed (the policy refuses it; sign-in treats it as wrong) */
export const MAX_PASSWORD_LENGTH = 1024;
const MAX_QUEUED = 256;

/** A hash of a random password nobody knows, with SCRYPT_PARAMS: the stand-in for unknown accounts. */
export const DUMMY_HASH = '$scrypt$ln=14,r=8,p=5$n3CFL8yQTYOvpEz3br9oXQ$e7fUiEsN9pxmXDDE5YwqOLZEO5kB+4EHp2/CP/pLQm0';

/** Too many sign-ins are waiting for a hash; the caller answers "try again shortly". */
export class PasswordHashBusyError extends Error {
  readonly code = 'HASH_BUSY';
  constructor() {
    super('too many password checks are waiting');
    this.name = 'PasswordHashBusyError';
  }
}

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{43,88})$/;

/** Parse a stored hash; null when it is not one we would have written (bounded parameters). */
export function parseHash(text: string): ParsedHash | null {
  const m = PHC.exec(text);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 10 || params.ln > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return null;
  return { params, salt: Buffer.from(m[4] as string, 'base64'), key: Buffer.from(m[5] as string, 'base64') };
}

function formatHash(params: ScryptParams, salt: Buffer, key: Buffer): string {
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

function scryptOptions(params: ScryptParams): ScryptOptions {
  const N = 2 ** params.ln;
  return { N, r: params.r, p: params.p, maxmem: 128 * N * params.r + 16 * 1024 * 1024 };
}

/** A first-in first-out limit on concurrent work. */
function createLimiter(concurrency: number, maxQueued: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running--;
    const next = waiting.shift();
    if (next) {
      running++;
      next();
    }
  };
  return async function limit<T>(work: () => Promise<T>): Promise<T> {
    if (running >= concurrency) {
      if (waiting.length >= maxQueued) throw new PasswordHashBusyError();
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    try {
      return await work();
    } finally {
      release();
    }
  };
}

let limiter: ReturnType<typeof createLimiter> | undefined;

/** Leave a CPU for the event loop and a libuv pool thread (default pool: 4) for fs and DNS. */
function hashSlot(): ReturnType<typeof createLimiter> {
  return (limiter ??= createLimiter(Math.max(1, Math.min(3, availableParallelism() - 1)), MAX_QUEUED));
}

function deriveKey(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  return hashSlot()(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFKC'), salt, length, scryptOptions(params), (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

/** Hash a password for storage (the caller has checked it against the password policy). */
export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    throw new TypeError(`a password is 1 to ${MAX_PASSWORD_LENGTH} characters`);
  }
  const salt = randomBytes(SALT_BYTES);
  return formatHash(SCRYPT_PARAMS, salt, await deriveKey(password, salt, SCRYPT_PARAMS, KEY_BYTES));
}

/**
 * Does `password` match `stored`? A null or unreadable `stored`, or an over-long
 * password, costs the same scrypt work and answers false.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored === null ? null : parseHash(stored);
  const usable = parsed !== null && typeof password === 'string' && password.length <= MAX_PASSWORD_LENGTH;
  const target = usable ? parsed : (parseHash(DUMMY_HASH) as ParsedHash);
  const input = usable ? password : 'x';
  const key = await deriveKey(input, target.salt, target.params, target.key.length);
  return timingSafeEqual(key, target.key) && usable;
}
