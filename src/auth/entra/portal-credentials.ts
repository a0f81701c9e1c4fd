/**
 * The credentials of Regentra's multi-tenant portal app, from the config
 * (`sites.portal.entra`: clientSecret and/or certificate(s)), in the order to try them:
 * unexpired certificates newest first, then the secret, expired ones last. Parsed once
 * per loaded config (the schema already checked each pair, so this cannot fail).
 */
import type { Config } from '../../config/schema.ts';
import { certificateCredential } from '../../util/certificate.ts';
import type { AppCredential } from './secrets.ts';

export interface ConfiguredCredential {
  readonly kind: 'secret' | 'certificate';
  /** certificate thumbprint (SHA-1 hex), or 'secret' */
  readonly id: string;
  readonly credential: AppCredential;
  /** epoch ms; null when not known (clientSecretExpires not set) */
  readonly expiresAt: number | null;
}

function isList<T>(v: T | readonly T[]): v is readonly T[] {
  return Array.isArray(v);
}

const parsed = new WeakMap<Config, readonly ConfiguredCredential[]>();

export function portalCredentials(config: Config, now: number = Date.now()): readonly ConfiguredCredential[] {
  const app = config.sites.portal?.entra;
  if (!app) return [];
  let list = parsed.get(config);
  if (!list) {
    type Pair = { readonly certificate: string; readonly privateKey: string };
    const configured: Pair | readonly Pair[] | undefined = app.certificate;
    const certs: readonly Pair[] = configured === undefined ? [] : isList(configured) ? configured : [configured];
    const out: ConfiguredCredential[] = certs
      .map((c) => certificateCredential(c.certificate, c.privateKey))
      .sort((a, b) => b.notBefore - a.notBefore)
      .map((c) => ({ kind: 'certificate', id: c.thumbprint, credential: { clientSecret: '', certificate: c }, expiresAt: c.notAfter }));
    if (app.clientSecret !== undefined)
      out.push({ kind: 'secret', id: 'secret', credential: { clientSecret: app.clientSecret }, expiresAt: app.clientSecretExpires ?? null });
    list = Object.freeze(out);
    parsed.set(config, list);
  }
  const expired = (c: ConfiguredCredential) => (c.expiresAt !== null && c.expiresAt <= now ? 1 : 0);
  return [...list].sort((a, b) => expired(a) - expired(b));
}

/** The portal app's client id with its first credential and the others as alternates. */
export function portalAppCredentials(
  config: Config,
  now?: number,
): { clientId: string; clientSecret: string; certificate: AppCredential['certificate']; alternates: AppCredential[] } | null {
  const app = config.sites.portal?.entra;
  const [first, ...others] = portalCredentials(config, now).map((c) => c.credential);
  if (!app || !first) return null;
  return { clientId: app.clientId, clientSecret: first.clientSecret, certificate: first.certificate ?? null, alternates: others };
}
