/** email + password + TOTP sign-in (issue: local accounts). Placeholder: registered by app.ts, filled in by its issue. */
import type { FastifyInstance } from 'fastify';

export async function passwordRoutes(_app: FastifyInstance): Promise<void> {}
