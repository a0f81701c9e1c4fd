/**
 * What every part of the gateway shares, decorated on the Fastify instance as
 * `app.gateway` (built once per config by buildApp).
 */
import type { FastifyRequest } from 'fastify';
import type { Config } from './config/schema.ts';
import type { SiteTable } from './routing/sites.ts';
import type { Store } from './store/types.ts';
import type { Metrics } from './ops/metrics.ts';
import type { AssertionSigner } from './identity/signer.ts';
import type { Jwks } from './identity/keys.ts';
import type { Auditor } from './ops/audit.ts';
import type { PolicyService } from './auth/policy.ts';
import type { RevocationCheck } from './session/revocation.ts';
import type { SecretBox } from './store/secretbox.ts';
import type { SessionData } from './session/types.ts';
import type { SessionRegistry } from './session/registry.ts';

export interface GatewayHooks {
  /** where to send the browser after sign-out (Entra end-session), or null */
  endSessionUrl: ((request: FastifyRequest, session: SessionData) => Promise<string | null>) | null;
}

export interface GatewayContext {
  readonly config: Config;
  readonly store: Store;
  readonly now: () => number;
  readonly sites: SiteTable;
  readonly metrics: Metrics;
  readonly signer: AssertionSigner;
  readonly jwks: Jwks;
  readonly auditor: Auditor;
  readonly policy: PolicyService;
  readonly revocation: RevocationCheck;
  /** the record of signed-in sessions (account page) */
  readonly sessionRegistry: SessionRegistry;
  readonly secretBox: SecretBox;
  /** HTTP client for Entra and Graph */
  readonly fetch: typeof fetch;
  /** set by sign-in strategies at registration */
  readonly hooks: GatewayHooks;
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayContext;
  }
}
