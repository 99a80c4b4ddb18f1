/**
 * `/metrics` as a stream of text chunks instead of one string. At 10,000 apps × 10 tasks the
 * per-backend series alone are 100,000 lines (7.7 MB): prom-client's `metrics()` builds an object
 * per series, a string per line and the whole text at once, which held the event loop for
 * 0.4-1 s per scrape and left ~100 MB more resident. Here prom-client writes its own instruments
 * (few series each), and the collected families are written source by source, straight from the
 * sources' state, in chunks of about 64 KB: the caller writes each to the socket and waits for it
 * to drain, so a scrape takes its turns with the proxy's traffic.
 */
import { Registry } from 'prom-client';
import { CollectedMetric } from './registry.ts';

const CHUNK_CHARS = 64 * 1024;

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

/** A sample value as prom-client writes it. */
export function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * The registry's text exposition, family by family. A registry whose `metrics()` was replaced (the
 * primary of `--workers`, which merges its workers' series), or that speaks OpenMetrics rather than
 * Prometheus' text format, is written as prom-client's one string.
 */
export async function* exposition(registry: Registry): AsyncGenerator<string> {
  if (Object.hasOwn(registry, 'metrics') || registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
    yield await registry.metrics();
    return;
  }
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (metric instanceof CollectedMetric) yield* collectedText(metric);
    else yield `${await registry.getSingleMetricAsString((metric as { name: string }).name)}\n`;
  }
}

function* collectedText(metric: CollectedMetric): Generator<string> {
  const help = metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  let out = `# HELP ${metric.name} ${help}\n# TYPE ${metric.name} ${metric.type}\n`;
  for (const lines of metric.textBySource()) {
    out += lines;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out !== '') yield out;
}
