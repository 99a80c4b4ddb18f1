/**
 * `pacer demo`: the Marathon emulator with sample apps (real local backends as tasks) and pacer
 * pointed at it, in one process, on unprivileged loopback ports. Needs no Marathon and no root.
 * Any pacer option may be given to override the demo's defaults (e.g. `--admin-port 0`).
 */
import { ConfigError, parseCommandLine } from '../config/load.ts';
import { demoApps, startEmulator } from '../emulator/index.ts';
import { createLogger } from '../log.ts';
import { startPacer } from '../pacer.ts';
import { onShutdownSignal } from './signals.ts';

/** pacer's settings in the demo, unless the command line or the environment says otherwise. */
const DEMO_DEFAULTS: Readonly<Record<string, string>> = {
  PACER_ADMIN_BIND: '127.0.0.1',
  PACER_ADMIN_PORT: '9090',
  PACER_BIND: '127.0.0.1',
  PACER_HTTP_PORT: '8080',
  PACER_HTTPS_PORT: '0',
  PACER_DNS_BIND: '127.0.0.1',
  PACER_DNS_PORT: '8053',
  PACER_LOG_LEVEL: 'warn',
  PACER_RESYNC_INTERVAL: '60',
};

export async function runDemo(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'Usage: pacer demo [pacer options]\n\n' +
        'Starts the Marathon emulator with sample apps and pacer pointed at it, on loopback.\n' +
        'pacer options override the demo defaults (admin on 127.0.0.1:9090, logs at warn).\n',
    );
    return 0;
  }
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, standbyPort: 0 });
  for (const { app, backend, autoHealthy } of demoApps()) {
    await emulator.createApp(app, { backend, autoHealthy: autoHealthy ?? false });
  }
  const marathon = [emulator.url, emulator.standbyUrl].filter((u): u is string => Boolean(u)).join(',');
  let line;
  try {
    line = parseCommandLine(args, { ...DEMO_DEFAULTS, ...process.env, PACER_MARATHON: marathon, PACER_CONFIG: undefined });
  } catch (error) {
    await emulator.close();
    if (error instanceof ConfigError) {
      process.stderr.write(`pacer demo: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (line.kind !== 'run') {
    await emulator.close();
    process.stderr.write('pacer demo: takes pacer options only\n');
    return 2;
  }
  const config = line.config;
  const logger = createLogger(config.logLevel);
  const pacer = await startPacer(config, logger);
  await pacer.sync.whenReady();

  const admin = pacer.adminUrl;
  const control = emulator.controlUrl;
  const web = emulator.tasks('/demo/web')[0];
  const webTask = typeof web?.['id'] === 'string' ? web['id'] : '<task-id>';
  process.stdout.write(
    [
      '',
      'pacer demo is running (Ctrl-C stops it).',
      '',
      `  Marathon emulator   ${emulator.url} (standby ${emulator.standbyUrl ?? 'none'})`,
      `  emulator control    ${control}  (see docs/emulator.md)`,
      `  pacer admin         ${admin}`,
      '',
      'Try:',
      `  curl -s ${admin}/routes                  # the routing table: services, backends, health`,
      `  curl -s ${admin}/ready`,
      `  curl -s ${admin}/metrics | grep ^pacer_`,
      `  curl -s ${emulator.url}/v2/apps/demo/web | head -c 600; echo`,
      '',
      '  # scale /demo/web to 4 tasks, then look at /routes again:',
      `  curl -s -X PUT -H 'content-type: application/json' -d '{"instances":4}' ${emulator.url}/v2/apps/demo/web`,
      '  # fail a health check: the task leaves the pool within milliseconds:',
      `  curl -s -X POST -H 'content-type: application/json' -d '{"alive":false}' ${control}/tasks/${webTask}/health`,
      '  # kill a task, drop the event stream, or switch the Marathon leader:',
      `  curl -s -X DELETE ${emulator.url}/v2/apps/demo/web/tasks/${webTask}`,
      `  curl -s -X POST -H 'content-type: application/json' -d '{"kind":"drop-streams"}' ${control}/faults`,
      `  curl -s -X POST -H 'content-type: application/json' -d '{"kind":"leader-change"}' ${control}/faults`,
      '',
      '  # through pacer: the service ports, the virtual host, DNS:',
      `  curl -s http://${config.bind}:10001/                 # /demo/web, round robin over its tasks`,
      `  curl -s -H 'Host: web.demo.local' http://${config.bind}:${config.httpPort}/`,
      `  dig @${config.dnsBind} -p ${config.dnsPort} web-demo.marathon.mesos +short`,
      `  dig @${config.dnsBind} -p ${config.dnsPort} _web-demo._tcp.marathon.mesos SRV +short`,
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    onShutdownSignal(async () => {
      await pacer.stop();
      await emulator.close();
      resolve();
    });
  });
  logger.flush();
  return 0;
}
