/** TLS test helpers: self-signed certificates made with the `openssl` command. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A self-signed certificate for `name` (CN and subjectAltName), valid for a day: writes
 * `name.key`, `name.crt` and `name.pem` (the certificate, then the key, as pacer's --tls-cert
 * takes it) in `dir`, and returns the path of the .pem. `rsa` is RSA 2048, `ec` P-256.
 */
export function selfSigned(dir: string, name: string, keyType: 'rsa' | 'ec' = 'rsa'): string {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  const newkey = keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-days', '1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  const pem = join(dir, `${name}.pem`);
  writeFileSync(pem, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));
  return pem;
}
