/**
 * Certificates for TLS termination, chosen by SNI: the `--tls-cert` files and every
 * `HAPROXY_{n}_SSL_CERT` path, each a PEM file holding the certificate (chain) and its private key,
 * as HAProxy's `crt` takes them. A certificate serves the DNS names of its subjectAltName (or its
 * CN when it has none), wildcards included (`*.example.com` covers one label). A client without SNI,
 * or naming a host no certificate covers, gets the first `--tls-cert` (else the first label
 * certificate). A file that cannot be read or parsed is reported and skipped; the others serve.
 * TLS 1.2 is the minimum, with forward-secret AEAD cipher suites only (Mozilla's "intermediate"
 * profile): no CBC, no RSA key exchange, no SHA-1 MACs.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

export const MIN_TLS_VERSION = 'TLSv1.2';

/** TLS 1.3 suites first (listed, or Node would not offer TLS 1.3), then TLS 1.2's ECDHE/DHE + AEAD. */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The TLS settings of every listener pacer terminates TLS on. */
export const TLS_SERVER_OPTIONS = { minVersion: MIN_TLS_VERSION, ciphers: TLS_CIPHERS, honorCipherOrder: true } as const;

export interface Certificate {
  readonly path: string;
  readonly context: SecureContext;
  /** DNS names it serves, lower case (`*.example.com` for wildcards). */
  readonly names: readonly string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** Read one PEM file (certificate chain + key). Throws with a short reason. */
export function loadCertificate(path: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Certificate {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const certs = text.match(PEM_CERT);
  const key = PEM_KEY.exec(text)?.[0];
  if (!certs || certs.length === 0) throw new Error(`${path} holds no PEM certificate`);
  if (!key) throw new Error(`${path} holds no PEM private key (pacer wants certificate and key in one file)`);
  let context: SecureContext;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certs[0]!);
    context = createSecureContext({ cert: certs.join('\n'), key, ...TLS_SERVER_OPTIONS });
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  return { path, context, names: certificateNames(x509) };
}

function certificateNames(x509: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (x509.subjectAltName ?? '').split(',')) {
    const entry = part.trim();
    if (entry.startsWith('DNS:')) names.push(entry.slice(4).toLowerCase());
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
    if (cn) names.push(cn.trim().toLowerCase());
  }
  return names;
}

export interface CertificateProblem {
  readonly path: string;
  readonly reason: string;
  /** Services whose label named the file (empty for `--tls-cert`). */
  readonly services: readonly string[];
}

/** The certificates of one HTTPS listener (and of service ports with `SSL_CERT`), by path and by name. */
export class CertificateStore {
  readonly #globalPaths: readonly string[];
  readonly #loaded = new Map<string, Certificate | Error>();
  #exact = new Map<string, SecureContext>();
  #wildcard = new Map<string, SecureContext>();
  #default: SecureContext | undefined;
  #problems: CertificateProblem[] = [];

  constructor(globalPaths: readonly string[]) {
    this.#globalPaths = globalPaths;
    this.update(new Map());
  }

  /** Take the label certificates (service key → paths); files already loaded are not read again. */
  update(servicePaths: ReadonlyMap<string, readonly string[]>): void {
    const users = new Map<string, string[]>();
    for (const path of this.#globalPaths) users.set(path, []);
    for (const [service, paths] of servicePaths) {
      for (const path of paths) {
        const list = users.get(path) ?? [];
        list.push(service);
        users.set(path, list);
      }
    }
    for (const path of this.#loaded.keys()) if (!users.has(path)) this.#loaded.delete(path);
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    let first: SecureContext | undefined;
    const problems: CertificateProblem[] = [];
    for (const [path, services] of users) {
      let cert = this.#loaded.get(path);
      if (cert === undefined || cert instanceof Error) {
        try {
          cert = loadCertificate(path);
        } catch (error) {
          cert = error as Error;
        }
        this.#loaded.set(path, cert);
      }
      if (cert instanceof Error) {
        problems.push({ path, reason: cert.message, services });
        continue;
      }
      first ??= cert.context;
      for (const name of cert.names) {
        if (name.startsWith('*.')) {
          if (!wildcard.has(name.slice(2))) wildcard.set(name.slice(2), cert.context);
        } else if (!exact.has(name)) exact.set(name, cert.context);
      }
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#default = first;
    this.#problems = problems;
  }

  get problems(): readonly CertificateProblem[] {
    return this.#problems;
  }

  get hasAny(): boolean {
    return this.#default !== undefined;
  }

  /** The context for an SNI name (undefined name: no SNI). */
  contextFor(servername: string | undefined): SecureContext | undefined {
    if (servername) {
      const name = servername.toLowerCase();
      const exact = this.#exact.get(name);
      if (exact) return exact;
      const dot = name.indexOf('.');
      if (dot > 0) {
        const wild = this.#wildcard.get(name.slice(dot + 1));
        if (wild) return wild;
      }
    }
    return this.#default;
  }

  /** The context of one path (for a service port with `SSL_CERT`), if it loaded. */
  contextOf(path: string): SecureContext | undefined {
    const cert = this.#loaded.get(path);
    return cert instanceof Error ? undefined : cert?.context;
  }

  /** `SNICallback` for `tls.Server`. */
  readonly sniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void): void => {
    const context = this.contextFor(servername);
    if (context) callback(null, context);
    else callback(new Error('no certificate'));
  };
}
