/**
 * The gateway's core: the infrastructure buildApp builds once per configuration, from
 * which every service and route plugin takes what it needs. It is handed down as an
 * explicit, typed dependency (plugin options and function parameters), never looked up
 * on the Fastify instance: the import map shows who uses what, and a function's
 * signature says what it touches.
 */
import type { FastifyBaseLogger } from 'fastify';
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
import type { SessionRegistry } from './session/registry.ts';
import type { SessionManager } from './session/plugin.ts';
import type { EntraClient } from './auth/entra/client.ts';

export interface Core {
  readonly config: Config;
  readonly store: Store;
  /** the clock (epoch ms); tests inject one */
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
  /** cookie sessions and sign-in flow state (src/session/plugin.ts) */
  readonly sessions: SessionManager;
  /** the app's logger (a request's own is request.log) */
  readonly log: FastifyBaseLogger;
  /** HTTP client for Entra and Graph */
  readonly fetch: typeof fetch;
  /** Microsoft Entra ID: discovery, code redemption, client credentials, Graph (one per configuration) */
  readonly entra: EntraClient;
}
