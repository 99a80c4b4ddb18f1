/**
 * The `pacer` command: parse the command line, then run pacer, the demo or the emulator.
 * Exit codes: 0 after a clean shutdown, 1 on a failure at run time, 2 on a configuration error.
 */
import { ConfigError, helpText, loadConfig, parseCommandLine, type Config } from '../config/load.ts';
import { planReload, withLiveValues } from '../config/reload.ts';
import { createLogger, type Logger } from '../log.ts';
import { PacerError } from '../errors.ts';
import { startPacer, type Pacer } from '../pacer.ts';
import { VERSION } from '../version.ts';
import { onShutdownSignal } from './signals.ts';

async function main(argv: readonly string[]): Promise<number> {
  let line;
  try {
    line = parseCommandLine(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`pacer: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  switch (line.kind) {
    case 'help':
      process.stdout.write(helpText());
      return 0;
    case 'version':
      process.stdout.write(`pacer ${VERSION}\n`);
      return 0;
    case 'subcommand':
      if (line.name === 'demo') {
        const { runDemo } = await import('./demo.ts');
        return runDemo(line.args);
      }
      if (line.name === 'habitat') {
        const { runHabitatCommand } = await import('../habitat/app-json.ts');
        return runHabitatCommand(line.args);
      }
      {
        const { runEmulatorCommand } = await import('../emulator/cli.ts');
        await runEmulatorCommand([...line.args]);
        return -1; // the emulator runs until it is signalled, and exits by itself
      }
    case 'run':
      return run(line.config);
  }
}

async function run(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  // Signals are handled from the start: a SIGTERM during start-up still shuts down cleanly.
  let starting: Promise<Pacer> | undefined;
  const stopped = new Promise<void>((resolve) => {
    onShutdownSignal(async (signal) => {
      logger.info({ signal }, 'shutting down: no new connections, draining');
      const pacer = await starting?.catch(() => undefined);
      // In-flight requests and connections may finish for up to --drain-timeout.
      await pacer?.stop(config.drainTimeoutSeconds * 1000);
      logger.info('stopped');
      resolve();
    });
  });
  starting = startPacer(config, logger);
  let pacer: Pacer;
  try {
    pacer = await starting;
  } catch (error) {
    const line = startupErrorLine(error, config);
    if (line === undefined) throw error;
    process.stderr.write(`pacer: ${line}\n`);
    return 2;
  }
  let current: Config = config;
  process.on('SIGHUP', () => {
    current = reloadConfig(current, pacer, logger);
  });
  await stopped;
  logger.flush();
  return 0;
}

/**
 * SIGHUP: read the command line, the environment and the config file again; apply what can change
 * live, say what needs a restart. A bad file changes nothing and is logged.
 */
function reloadConfig(current: Config, pacer: Pacer, logger: Logger): Config {
  let next: Config;
  try {
    next = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    logger.error({ error: error instanceof Error ? error.message : String(error) }, 'config reload failed; keeping the running configuration');
    return current;
  }
  const plan = planReload(current, next);
  if (plan.live.includes('log-level')) logger.level = next.logLevel;
  if (plan.live.some((name) => name !== 'log-level')) pacer.reconfigure(next);
  logger.info({ applied: plan.live, needsRestart: plan.restart }, plan.restart.length > 0 ? 'config reloaded; some changes need a restart' : 'config reloaded');
  // Only the live options change the running configuration; the rest waits for a restart.
  return withLiveValues(current, next);
}

/** One line for a start-up failure the user can fix (a file, a port), or undefined for a bug. */
function startupErrorLine(error: unknown, config: Config): string | undefined {
  if (error instanceof PacerError) {
    if (error.code === 'PACER_ERR_CREDENTIALS_FILE') return `--marathon-credentials-file: ${error.message}`;
    if (error.code === 'PACER_ERR_CONFIG') return error.message;
    return undefined;
  }
  const err = error as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
    return `--admin-port: cannot listen on ${config.adminBind}:${config.adminPort}: ${err.code}`;
  }
  return undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pacer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
