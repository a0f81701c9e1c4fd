/** `regentra-gateway sso …` (placeholder: filled in by the Entra issue). */
import type { CliContext } from './context.ts';

export async function runSsoCommand(_args: readonly string[], ctx: CliContext): Promise<number> {
  ctx.io.stderr.write('sso: not implemented yet\n');
  return 2;
}
