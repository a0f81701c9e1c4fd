/**
 * Audit events: a structured log line (`audit: true`) and a row in the store's
 * audit table. Writing the row is best effort: a store failure is logged, never
 * turned into a sign-in failure after the decision was made.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AuditEvent, Store } from '../store/types.ts';

export interface Auditor {
  record(event: Omit<AuditEvent, 'at'> & { at?: number }): Promise<void>;
}

export function createAuditor(store: Store, log: FastifyBaseLogger, now: () => number): Auditor {
  return {
    async record(event) {
      const full: AuditEvent = { ...event, at: event.at ?? now() };
      log.info(
        { audit: true, event: full.type, outcome: full.outcome, realm: full.realm, userId: full.userId, actor: full.actor, ip: full.ip, details: full.details },
        `audit ${full.type} ${full.outcome}`,
      );
      try {
        await store.appendAudit(full);
      } catch (err) {
        log.error({ err, event: full.type }, 'audit event could not be stored');
      }
    },
  };
}
