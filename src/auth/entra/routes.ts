/** Microsoft Entra ID sign-in (issue: Entra). Placeholder: registered by app.ts, filled in by its issue. */
import type { FastifyInstance } from 'fastify';

export async function entraRoutes(_app: FastifyInstance): Promise<void> {}
