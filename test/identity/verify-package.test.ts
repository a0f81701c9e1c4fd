/**
 * The published verifier: `import { verifyIdentity } from 'regentra-gateway/verify'`
 * resolves to compiled JavaScript (dist/), so backends on plain Node.js (without
 * TypeScript) can use it. Builds it with `npm run build`'s tsconfig and runs it in a
 * child process with type stripping turned off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK } from 'jose';

const root = fileURLToPath(new URL('../../', import.meta.url));

test("'regentra-gateway/verify' works from plain JavaScript after the build", async () => {
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const good = await new SignJWT({ email: 'ada@example.com', name: 'Ada', realm: 'staff', sid: 's1', amr: ['pwd', 'otp'], auth_time: 1 })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer('regentra-gateway')
    .setAudience('staff')
    .setSubject('u1')
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(privateKey);
  const script = `
    import { verifyIdentity } from 'regentra-gateway/verify';
    const keys = ${JSON.stringify({ keys: [jwk] })};
    const who = await verifyIdentity({ 'x-regentra-identity': ${JSON.stringify(good)} }, { keys, audience: 'staff', issuer: 'regentra-gateway' });
    let refused = 'no';
    try { await verifyIdentity({ 'x-regentra-identity': ${JSON.stringify(good)} }, { keys, audience: 'portal', issuer: 'regentra-gateway' }); } catch (e) { refused = e.code; }
    console.log(JSON.stringify({ sub: who.sub, email: who.email, amr: who.amr, refused }));`;
  const out = execFileSync(process.execPath, ['--no-experimental-strip-types', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { sub: 'u1', email: 'ada@example.com', amr: ['pwd', 'otp'], refused: 'CLAIMS' });
});
