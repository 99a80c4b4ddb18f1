/**
 * The live metrics of one pacer process, built from the catalogue. Each process (and each test)
 * gets its own prom-client Registry, so nothing leaks through prom-client's global registry.
 *
 * The proxy's per-backend series (`COLLECTED`) are not prom-client instruments: at 100,000 backends
 * prom-client's children (a `labels()` object of bound functions and a hashed series entry per
 * backend) were most of the proxy's heap. Their values live in the proxy's own per-backend state and
 * are read when the registry is scraped (`CollectedMetric`): same names, labels and text format.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { METRICS, type MetricDef, type MetricKey } from './catalogue.ts';

type Labels<D extends MetricDef> = D['labelNames'][number] & string;

type Instrument<D extends MetricDef> = D['type'] extends 'counter'
  ? Counter<Labels<D>>
  : D['type'] extends 'gauge'
    ? Gauge<Labels<D>>
    : Histogram<Labels<D>>;

/** Metrics whose series are read from their owner's state at scrape time. */
const COLLECTED = ['proxyBackendUp', 'proxyBackendConnectErrors', 'proxyBackendEjections'] as const;
type CollectedKey = (typeof COLLECTED)[number];

export type Metrics = { readonly [K in Exclude<MetricKey, CollectedKey>]: Instrument<(typeof METRICS)[K]> } & {
  readonly [K in CollectedKey]: CollectedMetric;
} & { readonly registry: Registry };

/** Writes the series of one source into a scrape: `out.push({ labels, value })`. */
export interface SeriesSource {
  collect(metric: CollectedMetric, out: MetricValue<string>[]): void;
}

/**
 * A gauge or counter whose series are kept by their sources (added and removed by the owner) and
 * rendered when scraped. A series exists while a source writes it; a source that goes takes its
 * series with it.
 */
export class CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum' as const;
  readonly #sources = new Set<SeriesSource>();

  constructor(def: MetricDef) {
    if (def.type === 'histogram') throw new Error(`${def.name}: a histogram cannot be collected`);
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
    this.labelNames = def.labelNames;
  }

  add(source: SeriesSource): void {
    this.#sources.add(source);
  }

  delete(source: SeriesSource): void {
    this.#sources.delete(source);
  }

  /** What prom-client's registry reads at a scrape (`metrics()`, `getMetricsAsJSON()`). */
  get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const values: MetricValue<string>[] = [];
    for (const source of this.#sources) source.collect(this, values);
    // prom-client's typings say an enum; its registry writes `type` as the text it is ('gauge').
    const data = { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    return Promise.resolve(data as unknown as MetricObjectWithValues<MetricValue<string>>);
  }

  /** The sources writing this family's series now. */
  sources(): Iterable<SeriesSource> {
    return this.#sources;
  }

  /** `registry.resetMetrics()`: the values are the sources' own state; nothing to reset here. */
  reset(): void {}
}

function instrument(def: MetricDef, registry: Registry): Counter<string> | Gauge<string> | Histogram<string> {
  const base = { name: def.name, help: def.help, labelNames: [...def.labelNames], registers: [registry] };
  switch (def.type) {
    case 'counter':
      return new Counter(base);
    case 'gauge':
      return new Gauge(base);
    case 'histogram':
      return new Histogram({ ...base, buckets: [...(def.buckets ?? [])] });
  }
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client's legacy gauges named *_total fail `promtool check metrics`;
    // nodejs_active_{handles,requests,resources}{type} carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
  }
  const out: Record<string, unknown> = { registry };
  const collected: ReadonlySet<string> = new Set(COLLECTED);
  for (const [key, def] of Object.entries(METRICS) as [MetricKey, MetricDef][]) {
    if (collected.has(key)) {
      const metric = new CollectedMetric(def);
      registry.registerMetric(metric as unknown as Metric);
      out[key] = metric;
    } else out[key] = instrument(def, registry);
  }
  return out as Metrics;
}
