/**
 * A configuration problem that stops start-up (the CLI exits with code 2).
 *
 * The message is always exactly one line that names where the bad value came from, in the form
 * the user wrote it, and why it is wrong:
 *
 *   --dns-port: must be 0-65535, got "abc"
 *   PACER_DNS_PORT: must be 0-65535, got "abc"
 *   pacer.yaml: dns-port: must be 0-65535, got "abc"
 *   unknown option --foo
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Exit code the CLI uses for a configuration error. */
  readonly exitCode = 2;

  constructor(message: string) {
    // One line, whatever a caller passes in (values are quoted with JSON escapes elsewhere; this
    // is the last line of defence against a newline slipping through).
    super(message.replace(/[\r\n]+/g, ' ').trim());
  }
}
