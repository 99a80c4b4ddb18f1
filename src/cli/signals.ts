/**
 * SIGTERM and SIGINT: the first one starts a graceful shutdown; a second one while it runs exits
 * at once (an operator pressing Ctrl-C twice means it).
 */
export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void>): void {
  let shuttingDown = false;
  const handler = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      process.exit(1);
    }
    shuttingDown = true;
    shutdown(signal).catch((error: unknown) => {
      process.stderr.write(`pacer: shutdown failed: ${String(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
