/**
 * The live metrics of one pacer process, built from the catalogue. Each process (and each test)
 * gets its own prom-client Registry, so nothing leaks through prom-client's global registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS, type MetricDef, type MetricKey } from './catalogue.ts';

type Labels<D extends MetricDef> = D['labelNames'][number] & string;

type Instrument<D extends MetricDef> = D['type'] extends 'counter'
  ? Counter<Labels<D>>
  : D['type'] extends 'gauge'
    ? Gauge<Labels<D>>
    : Histogram<Labels<D>>;

export type Metrics = { readonly [K in MetricKey]: Instrument<(typeof METRICS)[K]> } & { readonly registry: Registry };

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
  for (const [key, def] of Object.entries(METRICS) as [MetricKey, MetricDef][]) {
    out[key] = instrument(def, registry);
  }
  return out as Metrics;
}
