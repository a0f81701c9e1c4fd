/** What a CLI command receives from main.ts (the only reader of argv/env). */
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/types.ts';
import type { Io } from './io.ts';

export interface CliContext {
  readonly config: Config;
  readonly store: Store;
  readonly io: Io;
}
