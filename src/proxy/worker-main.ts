/**
 * A proxy worker of `--workers N` (started by the primary through node:cluster, see `workers.ts`):
 * runs the ordinary proxy with SO_REUSEPORT listeners, applies the tables the primary sends (whole
 * once, then what each one changed: worker-table.ts), and answers its questions (metrics,
 * listeners). It stops when the primary says so, or when the primary is gone; signals are the
 * primary's business (it forwards the shutdown).
 */
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics/registry.ts';
import { startProxy, type ProxyConsumer } from './index.ts';
import { WorkerTable } from './worker-table.ts';
import { WORKER_ENV, workerMetrics, type FromWorker, type ToWorker, type WorkerConfig } from './workers.ts';

const config = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerConfig;
const logger = createLogger(config.logLevel as Parameters<typeof createLogger>[0]).child({ worker: process.pid });
const metrics = createMetrics({ processMetrics: false });
const send = (message: FromWorker): void => {
  if (process.connected) process.send?.(message);
};

/** The primary's table as this worker knows it (whole once, then patched with each table's changes). */
const table = new WorkerTable();

let proxy: ProxyConsumer | undefined;
let stopping = false;

async function stop(graceMs: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // This process ignores SIGTERM: a close that hung would leave an orphan nobody stops.
  setTimeout(() => process.exit(0), graceMs + 2_000).unref();
  await proxy?.close(graceMs);
  logger.flush();
  process.exit(0);
}

// The primary handles signals and tells the workers to drain.
process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);
process.on('disconnect', () => void stop(1_000));
process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'pacer:table':
      // Whole, so without a diff: the proxy reconciles every listener.
      proxy?.apply(table.replace(message));
      send({ type: 'pacer:applied', version: message.version });
      return;
    case 'pacer:changes': {
      const patched = table.patch(message);
      if (!patched) {
        send({ type: 'pacer:resend' });
        return;
      }
      proxy?.apply(patched.table, patched.diff);
      send({ type: 'pacer:applied', version: message.version });
      return;
    }
    case 'pacer:ask':
      if (message.what === 'metrics') void workerMetrics(metrics).then((value) => send({ type: 'pacer:answer', id: message.id, value }));
      else send({ type: 'pacer:answer', id: message.id, value: { listeners: proxy?.listeners() ?? [], problems: proxy?.problems() ?? [] } });
      return;
    case 'pacer:stop':
      void stop(message.graceMs);
      return;
  }
});

try {
  proxy = await startProxy({ ...config.options, reusePort: true }, { logger, metrics });
  send({ type: 'pacer:ready' });
} catch (error) {
  send({ type: 'pacer:failed', reason: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
