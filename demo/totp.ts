/** `npm run demo:totp`: the current TOTP code of every pre-enrolled demo user. */
import { DEMO_USERS } from './fixtures.ts';
import { currentTotpCode } from '../src/auth/totp/totp.ts';

const now = Date.now();
for (const u of DEMO_USERS) {
  if (!u.totpSecret) continue;
  process.stdout.write(
    `${u.realm.padEnd(14)} ${u.email.padEnd(26)} ${await currentTotpCode(u.totpSecret, now)}  (${30 - (Math.floor(now / 1000) % 30)} s left)\n`,
  );
}
