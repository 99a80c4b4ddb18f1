/**
 * `/metrics` as a stream of text chunks instead of one string. At 10,000 apps × 10 tasks the
 * per-backend series alone are 100,000 lines (7.7 MB): prom-client's `metrics()` builds an object
 * per series, a string per line and the whole text at once, which held the event loop for
 * 0.4-1 s per scrape and left ~100 MB more resident. Here prom-client writes its own instruments
 * (few series each), and the collected families are written source by source, straight from the
 * sources' state, in chunks of about 64 KB: the caller writes each to the socket and waits for it
 * to drain, so a scrape takes its turns with the proxy's traffic.
 */
import { Registry, type MetricValue } from 'prom-client';
import { CollectedMetric } from './registry.ts';

const CHUNK_CHARS = 64 * 1024;

/** Help text in the text format: backslash and line feed escaped. */
function escapeHelp(value: string): string {
  return /[\\\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : value;
}

/** A label value in the text format: as help text, and the double quote too. */
function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? escapeHelp(value).replace(/"/g, '\\"') : value;
}

/** A sample value in the text format (`NaN`, `+Inf`, `-Inf` spelled out). */
function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A family's `# HELP` and `# TYPE` lines. */
function familyHeader(metric: { readonly name: string; readonly help: string; readonly type: string }): string {
  return `# HELP ${metric.name} ${escapeHelp(metric.help)}\n# TYPE ${metric.name} ${metric.type}\n`;
}

/** One sample line: the family's name, its labels in `labelNames` order, the value. */
function sampleLine(name: string, labelNames: readonly string[], labelValue: (name: string, i: number) => string, value: number): string {
  let pairs = '';
  for (let i = 0; i < labelNames.length; i++) pairs += `${i === 0 ? '' : ','}${labelNames[i]!}="${escapeLabelValue(labelValue(labelNames[i]!, i))}"`;
  return `${name}{${pairs}} ${sampleValue(value)}\n`;
}

/** Registries whose exposition is written by someone else (the `--workers` primary merges its workers'). */
const replaced = new WeakMap<Registry, () => Promise<string>>();

/** From now on, `registry`'s exposition is what `text` gives (one string). */
export function replaceExposition(registry: Registry, text: () => Promise<string>): void {
  replaced.set(registry, text);
}

/**
 * The registry's text exposition, family by family. A replaced one (see `replaceExposition`), or a
 * registry that speaks OpenMetrics rather than Prometheus' text format, is written as one string.
 */
export async function* exposition(registry: Registry): AsyncGenerator<string> {
  const replacement = replaced.get(registry);
  if (replacement) {
    yield await replacement();
    return;
  }
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
    yield await registry.metrics();
    return;
  }
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (metric instanceof CollectedMetric) yield* collectedText(metric);
    else yield `${await registry.getSingleMetricAsString((metric as { name: string }).name)}\n`;
  }
}

function* collectedText(metric: CollectedMetric): Generator<string> {
  let out = familyHeader(metric);
  const values: MetricValue<string>[] = [];
  for (const source of metric.sources()) {
    values.length = 0;
    source.collect(metric, values);
    for (const v of values) out += sampleLine(metric.name, metric.labelNames, (n) => String(v.labels[n] ?? ''), v.value);
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out !== '') yield out;
}

/** One collected family's series in a form that crosses IPC cheaply: label values joined by NUL, and the values. */
export interface PackedSeries {
  readonly keys: readonly string[];
  readonly values: readonly number[];
}

/** The series of a collected family, packed (a `--workers` worker's answer to the primary). */
export function packSeries(metric: CollectedMetric): PackedSeries {
  const out: MetricValue<string>[] = [];
  for (const source of metric.sources()) source.collect(metric, out);
  const names = metric.labelNames;
  const keys = new Array<string>(out.length);
  const values = new Array<number>(out.length);
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    keys[i] = names.map((n) => String(v.labels[n] ?? '')).join('\u0000');
    values[i] = v.value;
  }
  return { keys, values };
}

/**
 * The text of one collected family (a per-backend gauge or counter) from the packed series of
 * several processes (the `--workers` primary's merge), series with the same labels merged by `max`
 * or `sum`. At 10,000 apps × 10 tasks that is 100,000 series per worker: as objects through IPC and
 * prom-client's AggregatorRegistry, a scrape held the primary's loop for 1.2-1.9 s.
 */
export function mergedSeriesText(
  metric: { readonly name: string; readonly help: string; readonly type: string; readonly labelNames: readonly string[] },
  packs: readonly PackedSeries[],
  merge: 'max' | 'sum',
): string {
  const merged = new Map<string, number>();
  for (const pack of packs) {
    for (let i = 0; i < pack.keys.length; i++) {
      const key = pack.keys[i]!;
      const value = pack.values[i]!;
      const seen = merged.get(key);
      merged.set(key, seen === undefined ? value : merge === 'max' ? Math.max(seen, value) : seen + value);
    }
  }
  const chunks: string[] = [familyHeader(metric)];
  for (const [key, value] of merged) {
    const labelValues = key.split('\u0000');
    chunks.push(sampleLine(metric.name, metric.labelNames, (_n, i) => labelValues[i] ?? '', value));
  }
  return chunks.join('');
}
