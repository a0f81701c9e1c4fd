/**
 * `regentra-gateway entra generate-certificate --out DIR [--days N] [--name CN]`: a
 * certificate credential for Regentra's portal app (sites.portal.entra.certificate),
 * made without a running gateway or a store: DIR/entra-app.key (PKCS#8, mode 0600) and
 * DIR/entra-app.crt (PEM) plus .cer (DER, for Azure's upload); prints both thumbprints
 * and the config to add. Never overwrites a file.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CertificateError, certificateDer, DEFAULT_CERT_DAYS, generateCertificate } from '../util/certificate.ts';
import type { Io } from './io.ts';

const USAGE = 'usage: regentra-gateway entra generate-certificate --out DIR [--days N] [--name "Common Name"]\n';

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function runEntraCommand(args: readonly string[], io: Io, now: number = Date.now()): number {
  if (args[0] !== 'generate-certificate') {
    io.stderr.write(USAGE);
    return 2;
  }
  const out = option(args, '--out');
  if (!out) {
    io.stderr.write(`regentra-gateway entra generate-certificate: --out DIR is required\n${USAGE}`);
    return 2;
  }
  const daysText = option(args, '--days') ?? String(DEFAULT_CERT_DAYS);
  if (!/^\d{1,4}$/.test(daysText)) {
    io.stderr.write(`regentra-gateway entra generate-certificate: --days must be a whole number of days (got "${daysText}")\n`);
    return 2;
  }
  let cert;
  try {
    cert = generateCertificate({ commonName: option(args, '--name') ?? 'Regentra Gateway portal SSO', days: Number(daysText), now });
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err;
    io.stderr.write(`regentra-gateway entra generate-certificate: ${err.message}\n`);
    return 2;
  }
  const dir = resolve(out);
  const files = { key: join(dir, 'entra-app.key'), crt: join(dir, 'entra-app.crt'), cer: join(dir, 'entra-app.cer') };
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the --out folder the operator gave this CLI
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // 'wx': refuse to overwrite a credential that may be in use
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a fixed file name in the operator's --out folder
    writeFileSync(files.key, cert.privateKeyPem, { mode: 0o600, flag: 'wx' });
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a fixed file name in the operator's --out folder
    writeFileSync(files.crt, cert.pem, { flag: 'wx' });
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a fixed file name in the operator's --out folder
    writeFileSync(files.cer, certificateDer(cert.pem), { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.stderr.write(
      `regentra-gateway entra generate-certificate: cannot write in ${dir}: ${code === 'EEXIST' ? 'a certificate is already there (remove it or choose another --out)' : (code ?? String(err))}\n`,
    );
    return 1;
  }
  io.stdout.write(
    `Certificate generated (RSA ${cert.keyBits}, valid until ${new Date(cert.notAfter).toISOString()}):\n` +
      `  ${files.cer}  upload this in Azure: App registration → Certificates & secrets → Certificates\n` +
      `  thumbprint (SHA-1, as Azure shows it): ${cert.thumbprint}\n` +
      `  x5t#S256: ${cert.x5tS256}\n` +
      `  ${files.key}  the private key (mode 0600): keep it secret\n` +
      `Then add to the config:\n` +
      `  sites:\n    portal:\n      entra:\n        certificate:\n          certificate: file:${files.crt}\n          privateKey: file:${files.key}\n`,
  );
  return 0;
}
