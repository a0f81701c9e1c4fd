/** `regentra-gateway users …` (placeholder: filled in by the local-accounts issue). */
import type { CliContext } from './context.ts';

export async function runUsersCommand(_args: readonly string[], ctx: CliContext): Promise<number> {
  ctx.io.stderr.write('users: not implemented yet\n');
  return 2;
}
