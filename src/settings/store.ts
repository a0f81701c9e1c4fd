/**
 * The one way a stored setting is read and written. Every caller (the admin pages, the
 * CLI, the sign-in policy, the revocation rules, set-up links) goes through here; nothing
 * else calls Store.getSetting/putSetting (test/architecture/imports.test.ts checks it).
 *
 * - read: the stored value merged over the setting's defaults, parsed by its schema. A
 *   stored value that does not parse is a SettingsError `CORRUPT` — never silently the
 *   defaults, which for a sign-in setting could be less strict than what an admin saved
 *   (fail closed: the decision that needed it denies; the log names the key and fields).
 * - write: validated by the schema (`INVALID` otherwise), at the version the caller read
 *   (a StoreError `CONFLICT` when another write came first); a realm's sign-in settings
 *   also stamp when a way of signing in was taken away (sessionEpochs below).
 */
import type { z } from 'zod';
import { CodedError } from '../errors.ts';
import type { Config } from '../config/schema.ts';
import { StoreError, type Setting, type Store } from '../store/types.ts';
import { currentSetupLinkSchema, portalAuthSchema, setupLinkSchema, ssoTestDraftSchema, staffSsoSchema } from './schemas.ts';
import {
  DEFAULT_PORTAL_AUTH,
  DEFAULT_STAFF_SSO,
  PORTAL_AUTH_PREFIX,
  STAFF_SSO_KEY,
  type CurrentSetupLink,
  type PortalAuthSettings,
  type SessionEpochs,
  type SetupLinkRecord,
  type SsoTestDraft,
  type StaffSsoSettings,
} from './types.ts';

export type SettingsErrorCode = 'CORRUPT' | 'INVALID' | 'UNKNOWN_SETTING';

export class SettingsError extends CodedError<SettingsErrorCode> {
  /** the setting's key */
  readonly key: string;
  /** where the value did not match its schema (`field: problem`), never the values */
  readonly problems: readonly string[];
  constructor(code: SettingsErrorCode, key: string, problems: readonly string[] = []) {
    const what =
      code === 'CORRUPT'
        ? 'the stored value does not match its schema'
        : code === 'INVALID'
          ? 'the value to store does not match its schema'
          : 'no such setting';
    super('SettingsError', code, `setting ${key}: ${what}${problems.length ? ` (${problems.join('; ')})` : ''}`);
    this.key = key;
    this.problems = Object.freeze([...problems]);
  }
}

/** A kind of stored setting: its schema, its defaults (null: none), and whether it is a realm's sign-in settings. */
export interface SettingSpec<T> {
  readonly schema: z.ZodType<T>;
  /** merged under the stored value on read; null: a missing row reads as null */
  readonly defaults: T | null;
  /** a realm's sign-in settings: writes stamp the session epochs */
  readonly signIn: boolean;
}

/** A setting with defaults: it always has a value. */
export type DefaultedSpec<T> = SettingSpec<T> & { readonly defaults: T };

const spec = <T>(schema: z.ZodType<T>): SettingSpec<T> => Object.freeze({ schema, defaults: null, signIn: false });
const defaulted = <T>(schema: z.ZodType<T>, defaults: T, signIn = false): DefaultedSpec<T> => Object.freeze({ schema, defaults, signIn });

/** Every kind of setting the gateway stores. */
export const SETTINGS = Object.freeze({
  staffSso: defaulted<StaffSsoSettings & SessionEpochs>(staffSsoSchema, DEFAULT_STAFF_SSO, true),
  portalAuth: defaulted<PortalAuthSettings & SessionEpochs>(portalAuthSchema, DEFAULT_PORTAL_AUTH, true),
  ssoTestDraft: spec<SsoTestDraft | null>(ssoTestDraftSchema),
  setupLink: spec<SetupLinkRecord>(setupLinkSchema),
  currentSetupLink: spec<CurrentSetupLink>(currentSetupLinkSchema),
});

export interface Versioned<T> {
  readonly value: T;
  /** 0 when the setting was never written */
  readonly version: number;
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`);
}

function parse<T>(s: SettingSpec<T>, key: string, raw: unknown, code: 'CORRUPT' | 'INVALID'): T {
  const merged = s.defaults !== null && raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...s.defaults, ...raw } : raw;
  const r = s.schema.safeParse(merged);
  if (!r.success) throw new SettingsError(code, key, problemsOf(r.error));
  return r.data;
}

/** The setting at `key`: stored value over the defaults, parsed; `null` value when missing and there are no defaults. */
export async function readSetting<T>(store: Store, s: SettingSpec<T>, key: string): Promise<Versioned<T | null>> {
  const row = await store.getSetting<unknown>(key);
  if (!row) return { value: s.defaults, version: 0 };
  return { value: parse(s, key, row.value, 'CORRUPT'), version: row.version };
}

/** As readSetting, for a setting that has defaults (never null). */
export async function readWithDefaults<T>(store: Store, s: DefaultedSpec<T>, key: string): Promise<Versioned<T>> {
  const r = await readSetting(store, s, key);
  return r as Versioned<T>;
}

/**
 * Store a setting that has no sign-in consequence and no concurrent editors (a draft, a
 * set-up link): validated, written at whatever version is current.
 */
export async function putSetting<T>(store: Store, s: SettingSpec<T>, key: string, value: T): Promise<void> {
  if (s.signIn) throw new SettingsError('INVALID', key, ['a sign-in setting is written with writeSetting']);
  await store.putSetting(key, parse(s, key, value, 'INVALID'));
}

/** The sign-in settings' spec for a key (staff SSO, a client's portal authentication), or null. */
export function signInSpecOf(key: string): DefaultedSpec<StaffSsoSettings & SessionEpochs> | DefaultedSpec<PortalAuthSettings & SessionEpochs> | null {
  if (key === STAFF_SSO_KEY) return SETTINGS.staffSso;
  if (key.startsWith(PORTAL_AUTH_PREFIX)) return SETTINGS.portalAuth;
  return null;
}

/** What a realm's settings allow; a change from `before` to `after` decides which sessions end. */
export interface RealmAccess {
  readonly sso: boolean;
  readonly password: boolean;
  /** the tenant SSO sessions come from (lower case), or null without SSO */
  readonly tenant: string | null;
  /** what identifies the SSO application and tenant: a change ends SSO sessions */
  readonly ssoIdentity: string | null;
}

export function staffAccess(s: StaffSsoSettings): RealmAccess {
  // a credential: the client secret, or a certificate (src/auth/entra/staff-credentials.ts)
  const sso = s.enabled && s.tenantId !== null && s.clientId !== null && (s.clientSecretEnc !== null || (s.certificates?.length ?? 0) > 0);
  return {
    sso,
    password: !(sso && s.ssoOnly),
    tenant: sso ? s.tenantId.toLowerCase() : null,
    ssoIdentity: sso ? `${s.tenantId}|${s.clientId}`.toLowerCase() : null,
  };
}

export function portalAccess(p: PortalAuthSettings, portalApp: boolean): RealmAccess {
  const sso = portalApp && p.ssoEnabled && p.tenantId !== null;
  return { sso, password: !sso || p.passwordAllowed, tenant: sso ? p.tenantId.toLowerCase() : null, ssoIdentity: sso ? p.tenantId.toLowerCase() : null };
}

/** The realm access a sign-in setting's value gives (null: not a sign-in setting). */
export function accessOf(config: Config, key: string, value: StaffSsoSettings | PortalAuthSettings): RealmAccess | null {
  if (key === STAFF_SSO_KEY) return staffAccess(value as StaffSsoSettings);
  if (key.startsWith(PORTAL_AUTH_PREFIX)) return portalAccess(value as PortalAuthSettings, config.sites.portal?.entra !== undefined);
  return null;
}

/**
 * Write `next` at `expectedVersion`. For a realm's sign-in settings the write also stamps,
 * in the same row (every replica sees both at once), when a way of signing in was taken
 * away: password sign-in no longer allowed → `passwordSessionsValidAfter = now`; SSO
 * turned off, or its tenant or application changed → `ssoSessionsValidAfter = now`. The
 * stamps are kept from the stored value: a caller cannot reset them.
 */
export async function writeSetting<T>(
  store: Store,
  config: Config,
  s: SettingSpec<T>,
  key: string,
  next: T,
  expectedVersion: number | undefined,
  now: number,
): Promise<Setting<T>> {
  const value = parse(s, key, next, 'INVALID');
  if (!s.signIn) return store.putSetting(key, value, expectedVersion);
  // a realm's sign-in settings are only ever written at the version they were read at
  if (expectedVersion === undefined) throw new SettingsError('INVALID', key, ['a sign-in setting is written at the version it was read at']);
  const stored = await store.getSetting<unknown>(key);
  if ((stored?.version ?? 0) !== expectedVersion) throw new StoreError('CONFLICT', `setting ${key} changed since version ${expectedVersion}`);
  const before = stored ? (parse(s, key, stored.value, 'CORRUPT') as StaffSsoSettings & SessionEpochs) : (s.defaults as StaffSsoSettings & SessionEpochs);
  const b = accessOf(config, key, before);
  const a = accessOf(config, key, value as StaffSsoSettings & SessionEpochs);
  if (b === null || a === null) throw new SettingsError('UNKNOWN_SETTING', key);
  const epochs: SessionEpochs = {
    passwordSessionsValidAfter: b.password && !a.password ? now : before.passwordSessionsValidAfter,
    ssoSessionsValidAfter: b.sso && a.ssoIdentity !== b.ssoIdentity ? now : before.ssoSessionsValidAfter,
  };
  return store.putSetting(key, { ...value, ...epochs }, expectedVersion);
}
