// `pacer emulator [options]`: runs the Marathon emulator until SIGTERM/SIGINT.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startEmulator } from './index.ts';
import type { EmulatorOptions } from './index.ts';

export const EMULATOR_USAGE = `Usage: pacer emulator [options]

Runs a Marathon emulator (REST API, /v2/events, local task backends, fault injection).

Options:
  --host ADDR              address to listen on (default 127.0.0.1)
  --port N                 leader node port (default 8080; 0 = ephemeral)
  --standby-port N         also run a standby node on this port (0 = ephemeral)
  --credentials-file F     file holding user:password; enables HTTP basic auth
  --keepalive-ms N         SSE keep-alive period (default 10000)
  --step-delay-ms N        delay between task lifecycle steps (default 5)
  --backend-host ADDR      address task backends bind to (default 127.0.0.1)
  --max-outstanding N      max unwritten events per stream before it is closed (default 1024)
  --help                   show this help

Prints one JSON line {"msg":"emulator listening",...} when ready. Control API: <leader>/_emulator/
`;

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export async function runEmulatorCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'host': { type: 'string' },
      'port': { type: 'string' },
      'standby-port': { type: 'string' },
      'credentials-file': { type: 'string' },
      'keepalive-ms': { type: 'string' },
      'step-delay-ms': { type: 'string' },
      'backend-host': { type: 'string' },
      'max-outstanding': { type: 'string' },
      'help': { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(EMULATOR_USAGE);
    return;
  }
  const opts: EmulatorOptions = { port: intOption('port', values.port) ?? 8080 };
  if (values.host !== undefined) opts.host = values.host;
  const standby = intOption('standby-port', values['standby-port']);
  if (standby !== undefined) opts.standbyPort = standby;
  const keepAlive = intOption('keepalive-ms', values['keepalive-ms']);
  if (keepAlive !== undefined) opts.keepAliveMs = Math.max(1, keepAlive);
  const step = intOption('step-delay-ms', values['step-delay-ms']);
  if (step !== undefined) opts.stepDelayMs = step;
  const maxOutstanding = intOption('max-outstanding', values['max-outstanding']);
  if (maxOutstanding !== undefined) opts.maxOutstanding = maxOutstanding;
  if (values['backend-host'] !== undefined) opts.backendHost = values['backend-host'];
  if (values['credentials-file'] !== undefined) {
    const creds = (await readFile(values['credentials-file'], 'utf8')).trim();
    if (!creds.includes(':')) throw new Error('--credentials-file must hold user:password');
    opts.credentials = creds;
  }
  const emu = await startEmulator(opts);
  process.stdout.write(JSON.stringify({
    msg: 'emulator listening',
    leader: emu.url,
    standby: emu.standbyUrl ?? null,
    control: emu.controlUrl,
  }) + '\n');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void emu.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.exitCode = 0;
}
