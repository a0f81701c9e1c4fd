/**
 * Request ids: the reference a person quotes from an error page (`Reference: …`, the
 * `x-request-id` header, an API error's `requestId`) and the `reqId` of every log line about
 * that request. Both ways a request is answered (Fastify's genReqId and the fast lane's
 * access-log line) take them from here.
 *
 * An id must be unique across every process of every replica, and cheap: the fast lane makes
 * one per access-log line. `crypto.randomUUID()` drew 122 random bits per id (about 770
 * instructions, 190 ns a line on this machine against 25 for this counter: issue #17, a fifth
 * of what the line cost). Here an id is a UUID (RFC 9562) of version 8, the RFC's layout for an
 * implementation's own scheme, so that anything that parses UUIDs still does:
 *
 *   xxxxxxxx-xxxx-8xxx-yxxx-cccccccccccc
 *   x, y: 74 random bits drawn when the process starts (8: the version; y: the variant, 8–b)
 *   c: a 48-bit counter
 *
 * as Apache's mod_unique_id counts after a part of its own per process. Two processes share a
 * random part with a chance of 2^-74 per pair; within a process the counter never repeats (past
 * its last value, a new random part is drawn). The counter starts at a random point, so that an
 * id does not say how many requests the process has answered (two ids still say how many came
 * between them).
 *
 * A request id is not a secret and is not unguessable, and nothing uses it as one: states,
 * nonces, CSRF tokens and session ids are drawn from crypto where they are made.
 */
import { randomBytes } from 'node:crypto';

/** two hexadecimal digits for each byte value */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex = (byte: number): string => HEX[byte] as string;
const LIMIT = 0x1000000;

/**
 * A source of request ids: `random(16)` gives the random part and the counter's start, drawn
 * again when the counter passes its last value (the tests pass their own bytes).
 */
export function requestIdSource(random: (size: number) => Uint8Array = randomBytes): () => string {
  /** the id up to the counter's low half: the random part and the counter's high 24 bits */
  let head = '';
  let prefix = '';
  /** the counter, as two 24-bit halves (small integers for V8) */
  let high = 0;
  let low = 0;
  const setHead = (): void => {
    head = `${prefix}${hex(high >>> 16)}${hex((high >>> 8) & 0xff)}${hex(high & 0xff)}`;
  };
  const draw = (): void => {
    const b = random(16);
    if (b.length !== 16) throw new RangeError(`a request-id prefix needs 16 random bytes, not ${b.length}`);
    const v = (i: number): number => b[i] as number;
    prefix =
      `${hex(v(0))}${hex(v(1))}${hex(v(2))}${hex(v(3))}-${hex(v(4))}${hex(v(5))}-` +
      // version 8 in the high nibble of byte 6, variant 10 in the top bits of byte 8
      `${hex((v(6) & 0x0f) | 0x80)}${hex(v(7))}-${hex((v(8) & 0x3f) | 0x80)}${hex(v(9))}-`;
    // the counter starts anywhere; past its last value a new random part is drawn
    high = (v(10) << 16) | (v(11) << 8) | v(12);
    low = (v(13) << 16) | (v(14) << 8) | v(15);
    setHead();
  };
  draw();
  return function nextRequestId(): string {
    const l = low;
    const id = `${head}${hex(l >>> 16)}${hex((l >>> 8) & 0xff)}${hex(l & 0xff)}`;
    if (++low === LIMIT) {
      low = 0;
      if (++high === LIMIT) draw();
      else setHead();
    }
    return id;
  };
}

/** The process's request ids (every id of this process comes from here). */
export const nextRequestId: () => string = requestIdSource();
