/**
 * Credentials expire (a client secret lives at most 24 months; a certificate until its
 * notAfter), and when the last one of an app does, Microsoft sign-in stops — with
 * SSO-only on, nobody can sign in. So the gateway says so before:
 *
 * - the settings pages show "expires in N days" and, from WARN_DAYS before, a banner to
 *   every staff admin (bannerFor);
 * - at 30, 14, 7 and 1 days (and once expired) an audit event and a log warning, once per
 *   credential and threshold across every replica (store consumeOnce keys);
 * - the gauge regentra_entra_credential_expiry_timestamp_seconds{app} holds when the app's
 *   last credential expires (when sign-in would stop), for alerting.
 *
 * checkCredentialExpiry runs at start and every CHECK_MS on each replica, and after a
 * credential changes on the SSO page.
 */
import { readWithDefaults, SETTINGS } from '../../settings/store.ts';
import type { Core } from '../../core.ts';
import type { FastifyInstance } from 'fastify';
import { STAFF_REALM } from '../../routing/sites.ts';
import { STAFF_SSO_KEY } from '../policy.ts';
import { portalCredentials } from './portal-credentials.ts';

export const WARN_DAYS = 30;
export const THRESHOLDS = [30, 14, 7, 1, 0] as const;
const DAY_MS = 86_400_000;
const CHECK_MS = 10 * 60_000;

export interface CredentialExpiry {
  readonly app: 'staff' | 'portal';
  readonly kind: 'secret' | 'certificate';
  /** certificate thumbprint or 'secret' */
  readonly id: string;
  readonly expiresAt: number;
  /** whole days left, rounded up (0 or less: expired) */
  readonly daysLeft: number;
}

export function daysLeft(expiresAt: number, now: number): number {
  return Math.ceil((expiresAt - now) / DAY_MS);
}

export function describeCredential(e: Pick<CredentialExpiry, 'app' | 'kind' | 'id'>): string {
  const app = e.app === 'staff' ? 'the staff app' : "Regentra's portal app";
  return e.kind === 'secret' ? `The client secret of ${app}` : `The certificate ${e.id} of ${app}`;
}

export function expiresInWords(days: number): string {
  if (days <= 0) return 'has expired';
  return days === 1 ? 'expires within a day' : `expires in ${days} days`;
}

/** Every credential with a known expiry, staff (settings) and portal (config). */
export async function credentialExpiries(core: Core): Promise<CredentialExpiry[]> {
  const now = core.now();
  const out: CredentialExpiry[] = [];
  // read from the store, not the policy cache: a background check must not pin a stale value there
  const { value: staff } = await readWithDefaults(core.store, SETTINGS.staffSso, STAFF_SSO_KEY);
  // public facts only: no private key is opened to tell an expiry date
  if (staff.clientSecretEnc && staff.secretExpiresAt)
    out.push({ app: 'staff', kind: 'secret', id: 'secret', expiresAt: staff.secretExpiresAt, daysLeft: daysLeft(staff.secretExpiresAt, now) });
  for (const c of staff.certificates ?? [])
    out.push({ app: 'staff', kind: 'certificate', id: c.thumbprint, expiresAt: c.notAfter, daysLeft: daysLeft(c.notAfter, now) });
  for (const c of portalCredentials(core.config, now)) {
    if (c.expiresAt !== null) out.push({ app: 'portal', kind: c.kind, id: c.id, expiresAt: c.expiresAt, daysLeft: daysLeft(c.expiresAt, now) });
  }
  return out;
}

/** The credentials an admin must be told about now (WARN_DAYS or fewer left). */
export async function expiringSoon(core: Core): Promise<CredentialExpiry[]> {
  return (await credentialExpiries(core)).filter((e) => e.daysLeft <= WARN_DAYS).sort((a, b) => a.expiresAt - b.expiresAt);
}

/** Update the gauge, and send each threshold's warning once across replicas. */
export async function checkCredentialExpiry(core: Core): Promise<void> {
  const { metrics, store, auditor, now } = core;
  const all = await credentialExpiries(core);
  for (const name of ['staff', 'portal'] as const) {
    const mine = all.filter((e) => e.app === name);
    if (mine.length === 0) metrics.credentialExpiry.remove({ app: name });
    else metrics.credentialExpiry.set({ app: name }, Math.floor(Math.max(...mine.map((e) => e.expiresAt)) / 1000));
  }
  for (const e of all) {
    // the tightest threshold reached: 10 days left warns once at "14", not at "30" as well
    const threshold = [...THRESHOLDS].reverse().find((t) => e.daysLeft <= t);
    if (threshold === undefined) continue;
    const key = `entra-credential-expiry:${e.app}:${e.id}:${e.expiresAt}:${threshold}`;
    if (!(await store.consumeOnce(key, Math.max(e.expiresAt, now()) + 60 * DAY_MS))) continue;
    const text = `${describeCredential(e)} ${expiresInWords(e.daysLeft)} (${new Date(e.expiresAt).toISOString()})`;
    core.log.warn(
      { app: e.app, credential: e.kind, id: e.id, expiresAt: new Date(e.expiresAt).toISOString(), daysLeft: e.daysLeft },
      `${text}: add a new credential, test it, then remove the old one`,
    );
    await auditor.record({
      type: 'sso.credential.expiry',
      outcome: 'info',
      realm: e.app === 'staff' ? STAFF_REALM : 'portal',
      userId: null,
      actor: null,
      ip: null,
      details: { app: e.app, credential: e.kind, id: e.id, expiresAt: e.expiresAt, daysLeft: e.daysLeft, threshold },
    });
  }
}

/** Check at start and every CHECK_MS (each replica; the warnings are sent once in all). */
export function watchCredentialExpiry(app: FastifyInstance, core: Core): void {
  let timer: NodeJS.Timeout | null = null;
  const run = () => {
    checkCredentialExpiry(core).catch((err: unknown) => core.log.error({ err }, 'credential expiry check failed'));
  };
  app.addHook('onReady', (done) => {
    run();
    timer = setInterval(run, CHECK_MS);
    timer.unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    if (timer) clearInterval(timer);
    done();
  });
}
