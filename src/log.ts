/**
 * Structured JSON logs (pino) on stdout. Anything that could hold a credential is redacted by
 * path, as a second line of defence: the code never puts credentials into log objects.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'password',
  'credentials',
  'authorization',
  'headers.authorization',
  '*.password',
  '*.credentials',
  '*.authorization',
];

export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'pacer' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
