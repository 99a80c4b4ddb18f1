/**
 * `--workers N` (N > 1): the proxy runs in N worker processes (node:cluster) so that it can use
 * every core; everything else stays in the primary. One process syncs with Marathon (Marathon
 * sees one client, as with one process): the primary's sync engine builds each table, and this
 * consumer sends its services to every worker over IPC; each worker runs the ordinary proxy
 * (`startProxy`) and applies them. Every worker binds every listener with SO_REUSEPORT, so the
 * kernel spreads new connections over the workers (no hand-off through the primary).
 *
 * Admin and metrics stay in the primary: `/metrics` merges the proxy's series of every worker
 * (counters and histograms summed; `pacer_backend_up` and `pacer_listener_problems` taken as the
 * maximum: prom-client's `AggregatorRegistry`, except for the per-backend families, which come
 * packed and are merged by src/metrics/exposition.ts) with the primary's own; `/proxy/listeners`
 * asks the first worker. A worker that dies is started again and gets the current table.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { AdminRoutes } from '../admin/server.ts';
import { sendJson } from '../admin/server.ts';
import type { Logger } from '../log.ts';
import { mergedSeriesText, packSeries, replaceExposition, type PackedSeries } from '../metrics/exposition.ts';
import { CollectedMetric, type Metrics } from '../metrics/registry.ts';
import type { RoutingTable, TableDiff } from '../model/routing-table.ts';
import { tableChanges, wholeTable, type TableChanges, type WholeTable } from './worker-table.ts';
import type { ListenerProblem, ListenerView, ProxyConsumer, ProxyOptions } from './index.ts';

/** Environment of a worker: what it needs to start its proxy. */
export const WORKER_ENV = 'PACER_PROXY_WORKER';

export interface WorkerConfig {
  readonly options: ProxyOptions;
  readonly logLevel: string;
}

/** Messages between the primary and a worker. */
export type ToWorker =
  | WholeTable
  | TableChanges
  | { readonly type: 'pacer:ask'; readonly id: number; readonly what: 'metrics' | 'listeners' }
  | { readonly type: 'pacer:stop'; readonly graceMs: number };

export type FromWorker =
  | { readonly type: 'pacer:ready' }
  | { readonly type: 'pacer:failed'; readonly reason: string }
  | { readonly type: 'pacer:applied'; readonly version: number }
  /** The worker's copy does not follow the changes it got: send it the whole table. */
  | { readonly type: 'pacer:resend' }
  | { readonly type: 'pacer:answer'; readonly id: number; readonly value: unknown };

/** A worker's answer to 'metrics': its families as prom-client JSON, the collected ones packed. */
export interface WorkerMetrics {
  readonly families: readonly MetricObjectWithValues<MetricValue<string>>[];
  readonly collected: Readonly<Record<string, PackedSeries>>;
}

/** What a worker answers when the primary asks for its metrics. */
export async function workerMetrics(metrics: Metrics): Promise<WorkerMetrics> {
  const families: MetricObjectWithValues<MetricValue<string>>[] = [];
  const collected: Record<string, PackedSeries> = {};
  for (const metric of metrics.registry.getMetricsAsArray() as unknown[]) {
    if (metric instanceof CollectedMetric) collected[metric.name] = packSeries(metric);
    else families.push(await (metric as { get(): Promise<MetricObjectWithValues<MetricValue<string>>> }).get());
  }
  return { families, collected };
}

/** Proxy metrics: these come from the workers; everything else from the primary. */
const PROXY_METRIC = /^pacer_(service|backend|udp|listener)_/;
/** Gauges that every worker reports alike: the max, not the sum. */
const SAME_IN_EVERY_WORKER: ReadonlySet<string> = new Set(['pacer_backend_up', 'pacer_listener_problems']);

const RESTART_DELAY_MS = 500;
const ASK_TIMEOUT_MS = 2_000;

export async function startProxyWorkers(count: number, config: WorkerConfig, context: { logger: Logger; metrics: Metrics }): Promise<ProxyConsumer> {
  const workers = new ProxyWorkers(count, config, context.logger.child({ consumer: 'proxy' }), context.metrics);
  await workers.start();
  return workers;
}

class ProxyWorkers implements ProxyConsumer {
  readonly name = 'proxy';
  readonly #count: number;
  readonly #config: WorkerConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #workers = new Set<Worker>();
  readonly #ready = new Set<Worker>();
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  /** The last table sent (a worker that starts, or lost track, gets it whole). */
  #last: RoutingTable | undefined;
  #stopping = false;
  #problems: readonly ListenerProblem[] = [];
  #listeners: readonly ListenerView[] = [];

  constructor(count: number, config: WorkerConfig, logger: Logger, metrics: Metrics) {
    this.#count = count;
    this.#config = config;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  async start(): Promise<void> {
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.ts', import.meta.url)), serialization: 'advanced', silent: false });
    await Promise.all(Array.from({ length: this.#count }, () => this.#fork()));
    this.#aggregateMetrics();
  }

  #fork(): Promise<void> {
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(this.#config) });
    this.#workers.add(worker);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'pacer:ready':
            this.#ready.add(worker);
            if (this.#last) worker.send(wholeTable(this.#last));
            resolve();
            return;
          case 'pacer:resend':
            this.#logger.warn({ pid: worker.process.pid }, 'proxy worker lost track of the table; sending it whole');
            if (this.#last && worker.isConnected()) worker.send(wholeTable(this.#last));
            return;
          case 'pacer:failed':
            reject(new Error(`proxy worker failed to start: ${message.reason}`));
            return;
          case 'pacer:answer': {
            const pending = this.#pending.get(message.id);
            if (!pending) return;
            this.#pending.delete(message.id);
            clearTimeout(pending.timer);
            pending.resolve(message.value);
            return;
          }
          case 'pacer:applied':
            return;
        }
      });
      worker.once('exit', (code, signal) => {
        this.#workers.delete(worker);
        this.#ready.delete(worker);
        reject(new Error(`proxy worker exited during start-up (${signal ?? code})`));
        if (this.#stopping) return;
        this.#logger.error({ pid: worker.process.pid, code, signal }, 'proxy worker died; starting another');
        setTimeout(() => {
          if (!this.#stopping) this.#fork().catch((error: unknown) => this.#logger.error({ err: error }, 'proxy worker restart failed'));
        }, RESTART_DELAY_MS).unref();
      });
    });
  }

  apply(table: RoutingTable, diff?: TableDiff): void {
    // What changed when this table follows the last one sent (every ready worker has that one);
    // the whole table otherwise.
    const follows = diff !== undefined && this.#last !== undefined && table.version === this.#last.version + 1;
    const message: ToWorker = follows ? tableChanges(table, diff) : wholeTable(table);
    this.#last = table;
    for (const w of this.#ready) if (w.isConnected()) w.send(message);
  }

  /** Ask every ready worker (or the first) something; missing answers are left out. */
  async #ask(what: 'metrics' | 'listeners', all: boolean): Promise<unknown[]> {
    const targets = [...this.#ready].filter((w) => w.isConnected()).slice(0, all ? undefined : 1);
    const answers = await Promise.all(
      targets.map(
        (w) =>
          new Promise<unknown>((resolve) => {
            const id = this.#nextId++;
            const timer = setTimeout(() => {
              this.#pending.delete(id);
              resolve(undefined);
            }, ASK_TIMEOUT_MS);
            this.#pending.set(id, { resolve, timer });
            w.send({ type: 'pacer:ask', id, what } satisfies ToWorker);
          }),
      ),
    );
    return answers.filter((a) => a !== undefined);
  }

  /** The primary's `/metrics`: its own series, plus the proxy series of every worker merged. */
  #aggregateMetrics(): void {
    const registry = this.#metrics.registry;
    const own = registry.getMetricsAsJSON.bind(registry);
    // The per-backend families (100,000 series per worker at 10,000 apps × 10 tasks) are merged
    // and written here; AggregatorRegistry takes the rest.
    const collected = [this.#metrics.proxyBackendUp, this.#metrics.proxyBackendConnectErrors, this.#metrics.proxyBackendEjections];
    const collectedNames: ReadonlySet<string> = new Set(collected.map((c) => c.name));
    replaceExposition(registry, async () => {
      const primary = (await own()).filter((m) => !PROXY_METRIC.test(m.name));
      const fromWorkers = (await this.#ask('metrics', true)) as WorkerMetrics[];
      const proxy = fromWorkers.map((answer) =>
        answer.families.filter((m) => PROXY_METRIC.test(m.name) && !collectedNames.has(m.name)).map((m) => (SAME_IN_EVERY_WORKER.has(m.name) ? { ...m, aggregator: 'max' as const } : m)),
      );
      let text = await AggregatorRegistry.aggregate([primary, ...proxy]).metrics();
      for (const c of collected) {
        const packs = fromWorkers.map((answer) => answer.collected[c.name] ?? { keys: [], values: [] });
        text += mergedSeriesText(c, packs, SAME_IN_EVERY_WORKER.has(c.name) ? 'max' : 'sum');
      }
      return text;
    });
  }

  registerRoutes(routes: AdminRoutes): void {
    routes.add('/proxy/listeners', async (_req, res) => {
      await this.#refreshListeners();
      sendJson(res, 200, { listeners: this.#listeners, problems: this.#problems, workers: this.#ready.size });
    });
  }

  async #refreshListeners(): Promise<void> {
    const [answer] = (await this.#ask('listeners', false)) as { listeners: ListenerView[]; problems: ListenerProblem[] }[];
    if (!answer) return;
    this.#listeners = answer.listeners;
    this.#problems = answer.problems;
  }

  problems(): readonly ListenerProblem[] {
    void this.#refreshListeners();
    return this.#problems;
  }

  listeners(): readonly ListenerView[] {
    void this.#refreshListeners();
    return this.#listeners;
  }

  async close(graceMs: number): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#workers].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          const timer = setTimeout(() => w.process.kill('SIGKILL'), graceMs + 2_000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (w.isConnected()) w.send({ type: 'pacer:stop', graceMs } satisfies ToWorker);
          else w.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
