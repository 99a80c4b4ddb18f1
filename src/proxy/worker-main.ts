/**
 * A proxy worker of `--workers N` (started by the primary through node:cluster, see `workers.ts`):
 * runs the ordinary proxy with SO_REUSEPORT listeners, applies the tables the primary sends, and
 * answers its questions (metrics, listeners). It stops when the primary says so, or when the
 * primary is gone; signals are the primary's business (it forwards the shutdown).
 */
import { EMPTY_TABLE } from '../model/routing-table.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics/registry.ts';
import { startProxy, type ProxyConsumer } from './index.ts';
import { WORKER_ENV, type FromWorker, type ToWorker, type WorkerConfig } from './workers.ts';

const config = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerConfig;
const logger = createLogger(config.logLevel as Parameters<typeof createLogger>[0]).child({ worker: process.pid });
const metrics = createMetrics({ processMetrics: false });
const send = (message: FromWorker): void => {
  if (process.connected) process.send?.(message);
};

/** The proxy reconciles from the whole table; it reads no diff. */
const NO_DIFF = { added: [], removed: [], changed: [], apps: [], cluster: false };

let proxy: ProxyConsumer | undefined;
let stopping = false;

async function stop(graceMs: number): Promise<void> {
  if (stopping) return;
  stopping = true;
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
      proxy?.apply({ ...EMPTY_TABLE, version: message.version, services: message.services }, NO_DIFF);
      send({ type: 'pacer:applied', version: message.version });
      return;
    case 'pacer:ask':
      if (message.what === 'metrics') void metrics.registry.getMetricsAsJSON().then((value) => send({ type: 'pacer:answer', id: message.id, value }));
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
