/**
 * Certificate credentials for an Entra app registration (Microsoft recommends them
 * over client secrets): the gateway generates an RSA key pair and a self-signed
 * certificate, keeps the private key sealed (src/store/secretbox.ts) and offers the
 * certificate to upload in Azure (App registration → Certificates & secrets →
 * Certificates), showing the two thumbprints Azure and the client assertions use.
 *
 * Everything read back (a stored or configured certificate) goes through
 * X509Certificate: RSA, at least 2048 bits (what Entra accepts), and the private key
 * must be the certificate's.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import * as der from './der.ts';
import { CodedError } from '../errors.ts';

export const MIN_RSA_BITS = 2048;
export const DEFAULT_CERT_DAYS = 365;
/** Azure accepts longer, but a credential that never expires is one nobody rotates */
export const MAX_CERT_DAYS = 3 * 365;
const DAY_MS = 86_400_000;

/** The public facts of a certificate credential (safe to show and store in clear). */
export interface AppCertificate {
  /** the certificate, PEM */
  readonly pem: string;
  /** SHA-1 of the DER, upper-case hex: the "Thumbprint" column in Azure */
  readonly thumbprint: string;
  /** base64url SHA-256 of the DER: the `x5t#S256` header of client assertions */
  readonly x5tS256: string;
  readonly subject: string;
  /** epoch ms */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly keyBits: number;
}

/** A certificate with its private key (PKCS#8 PEM): what signs client assertions. */
export interface CertificateCredential extends AppCertificate {
  readonly privateKeyPem: string;
}

export type CertificateErrorCode =
  'CERT_UNREADABLE' | 'CERT_NOT_RSA' | 'CERT_KEY_TOO_SMALL' | 'CERT_KEY_MISMATCH' | 'CERT_KEY_UNREADABLE' | 'CERT_BAD_VALIDITY';

export class CertificateError extends CodedError<CertificateErrorCode> {
  constructor(code: CertificateErrorCode, message: string) {
    super('CertificateError', code, message);
  }
}

const SHA256_WITH_RSA = der.sequence(der.oid('1.2.840.113549.1.1.11'), der.nullValue());

function name(commonName: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid('2.5.4.3'), der.utf8String(commonName))));
}

function extensions(): Buffer {
  const basicConstraints = der.sequence(der.oid('2.5.29.19'), der.boolean(true), der.octetString(der.sequence()));
  // keyUsage: digitalSignature only (a BIT STRING with 7 unused bits, 0x80)
  const keyUsage = der.sequence(der.oid('2.5.29.15'), der.boolean(true), der.octetString(Buffer.from([0x03, 0x02, 0x07, 0x80])));
  return der.explicit(3, der.sequence(basicConstraints, keyUsage));
}

/** Generate an RSA key pair and a self-signed certificate for `commonName`. */
export function generateCertificate(options: { commonName: string; days?: number; now?: number; bits?: number }): CertificateCredential {
  const days = options.days ?? DEFAULT_CERT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_CERT_DAYS)
    throw new CertificateError('CERT_BAD_VALIDITY', `The validity must be a whole number of days from 1 to ${MAX_CERT_DAYS}.`);
  const bits = options.bits ?? MIN_RSA_BITS;
  if (bits < MIN_RSA_BITS) throw new CertificateError('CERT_KEY_TOO_SMALL', `Entra needs RSA keys of at least ${MIN_RSA_BITS} bits.`);
  const now = options.now ?? Date.now();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  // a minute in the past: a clock slightly behind Microsoft's must not see a future certificate
  const notBefore = new Date(Math.floor((now - 60_000) / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)),
    der.unsignedInteger(serial),
    SHA256_WITH_RSA,
    name(options.commonName),
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name(options.commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions(),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = der.sequence(tbs, SHA256_WITH_RSA, der.bitString(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return Object.freeze({ ...describeCertificate(pem), privateKeyPem });
}

function parse(pem: string | Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new CertificateError('CERT_UNREADABLE', 'This is not an X.509 certificate in PEM or DER form.');
  }
}

/** The public facts of a certificate (PEM or DER); refuses what Entra would not accept. */
export function describeCertificate(input: string | Buffer): AppCertificate {
  const x = parse(input);
  const key = x.publicKey;
  if (key.asymmetricKeyType !== 'rsa')
    throw new CertificateError('CERT_NOT_RSA', `The certificate's key is ${key.asymmetricKeyType ?? 'not RSA'}: Entra needs an RSA key.`);
  const keyBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (keyBits < MIN_RSA_BITS)
    throw new CertificateError('CERT_KEY_TOO_SMALL', `The certificate's RSA key has ${keyBits} bits: Entra needs at least ${MIN_RSA_BITS}.`);
  return Object.freeze({
    pem: x.toString(),
    thumbprint: x.fingerprint.replace(/:/g, '').toUpperCase(),
    x5tS256: createHash('sha256').update(x.raw).digest('base64url'),
    subject: x.subject.replace(/\n/g, ', '),
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
    keyBits,
  });
}

/** A certificate with its private key, checked to be a pair. */
export function certificateCredential(certPem: string | Buffer, privateKeyPem: string): CertificateCredential {
  const facts = describeCertificate(certPem);
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new CertificateError(
      'CERT_KEY_UNREADABLE',
      'The private key is not a PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY"), or it is encrypted.',
    );
  }
  if (!new X509Certificate(facts.pem).checkPrivateKey(key))
    throw new CertificateError('CERT_KEY_MISMATCH', "The private key is not the certificate's: they must come from the same key pair.");
  return Object.freeze({ ...facts, privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() });
}

/** The certificate's DER (for a `.cer` download: what Azure's upload takes). */
export function certificateDer(pem: string): Buffer {
  return parse(pem).raw;
}
