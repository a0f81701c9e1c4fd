/**
 * The store interface. Every implementation (SQLite, PostgreSQL) satisfies it and
 * passes the shared contract suite in test/store/contract.ts.
 *
 * Rules for implementers:
 * - every method is async and either resolves or rejects with a StoreError;
 * - every write that must be atomic (counters, compare-and-set, once-only keys) is
 *   a single transaction or a single conditional statement, so that several
 *   replicas on one database never both win;
 * - emails are compared case-insensitively: callers pass them through
 *   normalizeEmail() and the store keeps that form in `email` (and the form the
 *   user typed in `emailDisplay`).
 * - times are epoch milliseconds (numbers).
 */
import { CodedError } from '../errors.ts';

/** `staff`, or `portal:<clientId>` for one client's portal. */
export type RealmId = string;

export type UserRole = 'admin' | 'member';
export type UserStatus = 'active' | 'disabled';

export interface User {
  readonly id: string;
  readonly realm: RealmId;
  /** normalised (trimmed, lower-cased) email; unique per realm */
  readonly email: string;
  readonly emailDisplay: string;
  readonly displayName: string;
  readonly role: UserRole;
  readonly status: UserStatus;
  /** scrypt PHC-style string, or null for SSO-only users */
  readonly passwordHash: string | null;
  /** TOTP secret, encrypted at rest (see src/store/secretbox.ts); null when not enrolled */
  readonly totpSecretEnc: string | null;
  readonly totpEnrolledAt: number | null;
  /** the last accepted TOTP time-step (RFC 6238 counter), or null */
  readonly totpLastStep: number | null;
  /** sessions whose auth_time is before this are void ("sign out everywhere") */
  readonly sessionsValidAfter: number;
  /** Entra binding: tenant id + object id, once the user has signed in with SSO */
  readonly externalTid: string | null;
  readonly externalOid: string | null;
  readonly failedCount: number;
  readonly failedWindowStart: number | null;
  readonly lockedUntil: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewUser {
  readonly realm: RealmId;
  readonly email: string;
  readonly emailDisplay?: string;
  readonly displayName: string;
  readonly role?: UserRole;
  readonly status?: UserStatus;
  readonly passwordHash?: string | null;
  readonly externalTid?: string | null;
  readonly externalOid?: string | null;
}

/** Fields a caller may change with updateUser. */
export interface UserPatch {
  readonly email?: string;
  readonly emailDisplay?: string;
  readonly displayName?: string;
  readonly role?: UserRole;
  readonly status?: UserStatus;
  readonly passwordHash?: string | null;
  readonly totpSecretEnc?: string | null;
  readonly totpEnrolledAt?: number | null;
  readonly totpLastStep?: number | null;
  readonly sessionsValidAfter?: number;
  readonly externalTid?: string | null;
  readonly externalOid?: string | null;
}

export interface LockoutPolicy {
  /** failures within windowMs that lock the account */
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

export interface FailureResult {
  readonly failures: number;
  /** epoch ms until which the account is locked, or null */
  readonly lockedUntil: number | null;
}

export interface AuditEvent {
  readonly at: number;
  /** e.g. 'signin', 'signout', 'signin.failure', 'lockout', 'settings.change', 'user.disable' */
  readonly type: string;
  readonly outcome: 'success' | 'failure' | 'info';
  readonly realm: RealmId | null;
  readonly userId: string | null;
  /** who did it (user id or 'cli'), for admin actions */
  readonly actor: string | null;
  readonly ip: string | null;
  /** free-form details; never a secret */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface StoredAuditEvent extends AuditEvent {
  readonly id: number;
}

/** One signed-in session as the registry knows it (for the account page's "your sessions"). */
export interface SessionRecord {
  readonly sid: string;
  readonly realm: RealmId;
  readonly userId: string;
  readonly createdAt: number;
  /** updated lazily (every few minutes at most), not on every request */
  readonly lastSeen: number;
  /** the session's absolute end; purged after */
  readonly expiresAt: number;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export interface AuditFilter {
  readonly realm?: RealmId;
  readonly type?: string;
  readonly person?: string;
  readonly since?: number;
  readonly until?: number;
  /** at most 1000 (default 100) */
  readonly limit?: number;
  readonly offset?: number;
}

export interface Setting<T = unknown> {
  readonly key: string;
  readonly value: T;
  /** increases by one on every write */
  readonly version: number;
  readonly updatedAt: number;
}

export interface Store {
  /** 'sqlite' | 'postgres' */
  readonly kind: string;
  /** apply pending versioned migrations (idempotent, safe when replicas start at once) */
  migrate(): Promise<void>;
  /** cheap round trip used by /readyz */
  ping(): Promise<void>;
  close(): Promise<void>;

  createUser(input: NewUser): Promise<User>;
  getUser(realm: RealmId, id: string): Promise<User | null>;
  getUserByEmail(realm: RealmId, email: string): Promise<User | null>;
  getUserByExternalId(realm: RealmId, tid: string, oid: string): Promise<User | null>;
  listUsers(realm?: RealmId): Promise<User[]>;
  /** rejects with StoreError 'NOT_FOUND' or 'DUPLICATE' (email taken) */
  updateUser(realm: RealmId, id: string, patch: UserPatch): Promise<User>;
  deleteUser(realm: RealmId, id: string): Promise<boolean>;

  /**
   * Count a failed sign-in atomically: a failure outside the window restarts the
   * count; reaching maxFailures sets lockedUntil = now + lockMs.
   */
  recordFailure(realm: RealmId, id: string, now: number, policy: LockoutPolicy): Promise<FailureResult>;
  /** forget failures and any lock (after a success, or by an operator) */
  clearFailures(realm: RealmId, id: string): Promise<void>;

  /**
   * The same counting and locking as recordFailure, for a key that is not a user
   * (e.g. an email with no account, so that lockout looks the same for every email
   * on every replica). Kept until the window and any lock are over.
   */
  recordKeyedFailure(key: string, now: number, policy: LockoutPolicy): Promise<FailureResult>;
  /** the lock's end for such a key, or null when it is not locked at `now` */
  keyedLockedUntil(key: string, now: number): Promise<number | null>;

  /**
   * Accept a TOTP time-step once: succeeds only when `step` is greater than the
   * stored last step (compare-and-set), so a code is never accepted twice, on any replica.
   */
  acceptTotpStep(realm: RealmId, id: string, step: number): Promise<boolean>;

  /** replace a user's recovery codes (hashes only) */
  setRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void>;
  /** use one recovery code; true exactly once per code */
  consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;

  /**
   * Record a one-time key (OIDC state, a hand-off ticket id, an auth code's hash).
   * Resolves true the first time, false ever after (until expiresAt has passed and
   * the key was purged). Used for replay protection across replicas.
   */
  consumeOnce(key: string, expiresAt: number): Promise<boolean>;
  /** Whether a one-time key is recorded and not yet expired at `now` (read-only). */
  hasOnceKey(key: string, now: number): Promise<boolean>;

  getSetting<T = unknown>(key: string): Promise<Setting<T> | null>;
  /**
   * Write a setting. With expectedVersion, the write succeeds only if the stored
   * version matches (0 = must not exist yet), else rejects with StoreError 'CONFLICT'.
   */
  putSetting<T = unknown>(key: string, value: T, expectedVersion?: number): Promise<Setting<T>>;
  listSettings(prefix: string): Promise<Setting[]>;

  appendAudit(event: AuditEvent): Promise<void>;
  /** newest first; `person` matches the event's user or its actor; `since`/`until` bound `at` (since ≤ at < until) */
  listAudit(filter?: AuditFilter): Promise<StoredAuditEvent[]>;

  /** insert a session, or update its last_seen, user agent and address */
  recordSession(session: SessionRecord): Promise<void>;
  /** a user's sessions not yet past `expiresAt`, most recently seen first */
  listSessions(realm: RealmId, userId: string, now: number): Promise<SessionRecord[]>;
  /** forget a session (signed out); true when there was one */
  deleteSession(sid: string): Promise<boolean>;

  /** delete expired one-time keys, failure counters and sessions; returns how many */
  purgeExpired(now: number): Promise<number>;
}

export type StoreErrorCode = 'DUPLICATE' | 'NOT_FOUND' | 'CONFLICT' | 'UNAVAILABLE' | 'CORRUPT';

export class StoreError extends CodedError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super('StoreError', code, message, options);
  }
}

export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}
