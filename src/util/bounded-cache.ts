/**
 * An LRU cache bounded by its number of entries, whose memory grows with what it holds.
 *
 * lru-cache's `max` allocates its key and value arrays for `max` entries up front:
 * a cache sized for 200,000 sessions holds two arrays of 200,000 slots from the
 * start, which every full garbage collection then scans (measured: the gateway's
 * caches made 14 MB of such arrays, a third of its heap, and proxying uploads —
 * whose buffers trigger frequent full collections — ran 20 % slower). Bounding by
 * `maxSize` with every entry of size 1 keeps the same limit (the least recently
 * used entry is evicted past `max` entries) with arrays that grow as needed.
 */
import { LRUCache } from 'lru-cache';

export type BoundedCacheOptions<K extends NonNullable<unknown>, V extends NonNullable<unknown>> = Omit<
  LRUCache.Options<K, V, unknown>,
  'max' | 'maxSize' | 'sizeCalculation' | 'maxEntrySize'
>;

export function boundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  max: number,
  options: BoundedCacheOptions<K, V> = {},
): LRUCache<K, V> {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`a cache needs a positive whole number of entries, not ${max}`);
  return new LRUCache<K, V>({ ...options, maxSize: max, sizeCalculation: one });
}

const one = (): number => 1;
