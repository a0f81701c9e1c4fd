/**
 * Reading and writing the settings the admin pages edit, with optimistic
 * concurrency: a form carries the version it was rendered from, and a write
 * succeeds only at that version (another admin's change in between is never
 * overwritten). After a write the local policy cache is dropped; other replicas
 * re-read within SETTINGS_CACHE_MS (and end the sessions a change ends within
 * session.revocationCheckSeconds).
 */
import type { Core } from '../core.ts';
import type { FastifyRequest } from 'fastify';
import { StoreError } from '../store/types.ts';
import { putSignInSettings } from '../auth/policy.ts';
import type { AdminActor } from './access.ts';

export interface Versioned<T> {
  readonly value: T;
  /** 0 when the setting was never written */
  readonly version: number;
}

/** The stored setting merged over its defaults, read from the store (never from a cache). */
export async function loadSetting<T extends object>(core: Core, key: string, fallback: T): Promise<Versioned<T>> {
  const s = await core.store.getSetting<Partial<T>>(key);
  if (!s) return { value: fallback, version: 0 };
  return { value: { ...fallback, ...s.value }, version: s.version };
}

/** Write at `expectedVersion`; false when someone else wrote first. */
export async function saveSetting<T extends object>(core: Core, key: string, value: T, expectedVersion: number): Promise<boolean> {
  const { store, config, now, policy, revocation } = core;
  try {
    // sign-in settings also stamp which sessions they end (src/auth/policy.ts)
    await putSignInSettings(store, config, key, value, expectedVersion, now());
  } catch (err) {
    if (err instanceof StoreError && err.code === 'CONFLICT') return false;
    throw err;
  }
  policy.invalidate();
  revocation.forgetRealms();
  return true;
}

/** The version a form was rendered from (a non-negative integer), or null. */
export function formVersion(body: Record<string, unknown>): number | null {
  const v = body.version;
  if (typeof v !== 'string' || !/^\d{1,12}$/.test(v)) return null;
  return Number(v);
}

/** `{ field: { from, to } }` for the listed fields whose values differ. */
export function changes<T extends object>(before: T, after: T, fields: ReadonlyArray<keyof T & string>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const f of fields) {
    if (before[f] !== after[f]) out[f] = { from: before[f] ?? null, to: after[f] ?? null };
  }
  return out;
}

/** Record an admin action (never a secret in `details`). */
export function auditAdmin(
  core: Core,
  request: FastifyRequest,
  actor: AdminActor,
  event: { type: string; outcome: 'success' | 'failure' | 'info'; realm?: string; details: Record<string, unknown> },
): Promise<void> {
  return core.auditor.record({
    type: event.type,
    outcome: event.outcome,
    realm: event.realm ?? actor.session.realm,
    userId: actor.user.id,
    actor: actor.user.id,
    ip: request.ip,
    details: { by: actor.user.email, ...event.details },
  });
}

export const CONFLICT_TEXT = 'These settings were changed by someone else since this page was opened. Review the current values below and try again.';
