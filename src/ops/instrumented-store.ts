/**
 * A Store decorator that measures every call: its latency by operation
 * (`regentra_store_operation_seconds`) and its failures by operation and
 * StoreError code (`regentra_store_errors_total`). Results and errors pass
 * through unchanged. The operation label is the method name, from a fixed
 * list that the type checker keeps complete, so label values stay bounded.
 */
import type { Metrics } from './metrics.ts';
import { StoreError, type Store } from '../store/types.ts';

/** the methods of Store */
type StoreOperation = { [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never }[keyof Store];

export const STORE_OPERATIONS = Object.freeze([
  'migrate',
  'ping',
  'close',
  'createUser',
  'getUser',
  'getUserByEmail',
  'getUserByExternalId',
  'listUsers',
  'updateUser',
  'deleteUser',
  'recordFailure',
  'clearFailures',
  'recordKeyedFailure',
  'keyedLockedUntil',
  'acceptTotpStep',
  'setRecoveryCodes',
  'consumeRecoveryCode',
  'countRecoveryCodes',
  'consumeOnce',
  'hasOnceKey',
  'getSetting',
  'putSetting',
  'listSettings',
  'appendAudit',
  'listAudit',
  'recordSession',
  'listSessions',
  'deleteSession',
  'purgeExpired',
] as const satisfies readonly StoreOperation[]);

/** fails to type-check when a Store method is missing from STORE_OPERATIONS */
type Complete<Missing extends never> = Missing;
export type StoreOperationsComplete = Complete<Exclude<StoreOperation, (typeof STORE_OPERATIONS)[number]>>;

type StoreMetrics = Pick<Metrics, 'storeLatency' | 'storeErrors'>;

/** the error code label: a StoreError's code, `unknown` for anything else (a bug, never a driver message) */
function errorCode(error: unknown): string {
  return error instanceof StoreError ? error.code : 'unknown';
}

function timed(metrics: StoreMetrics, operation: string, call: () => Promise<unknown>): Promise<unknown> {
  const end = metrics.storeLatency.startTimer({ operation });
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (error) {
    // a synchronous throw is reported the same way as a rejection
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the thrown value on unchanged, as a rejection of call() would
    pending = Promise.reject(error);
  }
  return pending.then(
    (value) => {
      end();
      return value;
    },
    (error: unknown) => {
      end();
      metrics.storeErrors.inc({ operation, code: errorCode(error) });
      throw error;
    },
  );
}

/** Wrap `store` so that every call is timed and every failure counted. */
export function instrumentStore(store: Store, metrics: StoreMetrics): Store {
  const wrapped: Record<string, unknown> = { kind: store.kind };
  for (const operation of STORE_OPERATIONS) {
    const method = (store[operation] as (...args: unknown[]) => Promise<unknown>).bind(store);
    wrapped[operation] = (...args: unknown[]) => timed(metrics, operation, () => method(...args));
  }
  return Object.freeze(wrapped) as unknown as Store;
}
