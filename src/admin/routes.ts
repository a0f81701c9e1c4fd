/** settings pages under /.auth/admin/ (issue: Entra). Placeholder: registered by app.ts, filled in by its issue. */
import type { FastifyInstance } from 'fastify';

export async function adminRoutes(_app: FastifyInstance): Promise<void> {}
