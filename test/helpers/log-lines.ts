import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.ts';

/** A pino logger whose lines land, parsed, in `lines` (pino writes one JSON object a line, to this stream at once). */
export function logLines(level: Parameters<typeof createLogger>[0] = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger(level, sink), lines };
}
