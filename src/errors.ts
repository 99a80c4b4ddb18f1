/**
 * pacer's error catalogue: every error pacer raises on purpose has a stable code, so that logs,
 * metrics and tests can match on the code rather than the wording. Codes must never be reused.
 */

export const ERROR_CODES = {
  PACER_ERR_CONFIG: 'invalid configuration',
  PACER_ERR_MARATHON_UNAVAILABLE: 'no Marathon instance answered',
  PACER_ERR_MARATHON_HTTP: 'Marathon answered with an unexpected status',
  PACER_ERR_MARATHON_AUTH: 'Marathon refused the credentials',
  PACER_ERR_MARATHON_BAD_JSON: 'Marathon answered with a body that is not the JSON expected',
  PACER_ERR_MARATHON_REDIRECTS: 'too many redirects from Marathon',
  PACER_ERR_STREAM_IDLE: 'the event stream was silent for too long',
  PACER_ERR_CREDENTIALS_FILE: 'the credentials file cannot be used',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class PacerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PacerError';
    this.code = code;
  }
}
