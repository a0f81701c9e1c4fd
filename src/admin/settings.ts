/**
 * Reading and writing the settings the admin pages edit, with optimistic
 * concurrency: a form carries the version it was rendered from, and a write
 * succeeds only at that version (another admin's change in between is never
 * overwritten). After a write the local policy cache is dropped; other replicas
 * re-read within SETTINGS_CACHE_MS (and end the sessions a change ends within
 * session.revocationCheckSeconds).
 */
import { settingsChangeEvent, type SettingsChange } from '../settings/audit.ts';
import type { Core } from '../core.ts';
import type { FastifyRequest } from 'fastify';
import { StoreError } from '../store/types.ts';
import { readWithDefaults, type DefaultedSpec, type Versioned } from '../settings/store.ts';
import { putSignInSettings } from '../auth/policy.ts';
import type { AdminActor } from './access.ts';

export type { Versioned } from '../settings/store.ts';

/** The stored setting merged over its defaults, read from the store (never from a cache). */
export function loadSetting<T>(core: Core, spec: DefaultedSpec<T>, key: string): Promise<Versioned<T>> {
  return readWithDefaults(core.store, spec, key);
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

export { fieldChanges as changes } from '../settings/audit.ts';

/** Record a change (or a refused change) of a setting made on an admin page: one shape for all (src/settings/audit.ts). */
export function auditSettingsChange(
  core: Core,
  request: FastifyRequest,
  actor: AdminActor,
  change: Omit<SettingsChange, 'at' | 'user' | 'via' | 'ip' | 'realm'> & { readonly realm?: string },
): Promise<void> {
  return core.auditor.record(
    settingsChangeEvent({
      ...change,
      realm: change.realm ?? actor.session.realm,
      at: core.now(),
      user: { id: actor.user.id, email: actor.user.email },
      via: 'admin',
      ip: request.ip,
    }),
  );
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
