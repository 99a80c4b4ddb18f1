/**
 * Writes docs/metrics.md from the metric catalogue (`npm run docs:metrics`). The catalogue is the
 * source: a test fails when the committed page and `metricsMarkdown()` differ.
 */
import { writeFileSync } from 'node:fs';
import { METRICS, type MetricDef } from './catalogue.ts';

/** The subsystem a metric belongs to, from its name (for the page's sections). */
export function subsystemOf(name: string): string {
  const rest = name.replace(/^pacer_/, '');
  const prefixes: readonly [string, string][] = [
    ['marathon_', 'Marathon sync'],
    ['routing_', 'Routing table'],
    ['label_', 'Routing table'],
    ['service_', 'Proxy: services'],
    ['backend_', 'Proxy: backends'],
    ['udp_', 'Proxy: UDP'],
    ['proxy_', 'Proxy'],
    ['listener_', 'Proxy'],
    ['dns_', 'DNS'],
    ['habitat_', 'Habitat'],
    ['admin_', 'Admin'],
  ];
  for (const [prefix, section] of prefixes) if (rest.startsWith(prefix)) return section;
  return 'Other';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function row(def: MetricDef): string {
  const labels = def.labelNames.length > 0 ? def.labelNames.map((l) => `\`${l}\``).join(', ') : '–';
  const buckets = def.buckets ? def.buckets.join(', ') : '–';
  return `| \`${def.name}\` | ${def.type} | ${labels} | ${cell(def.help)} | ${buckets} |`;
}

/** The whole of docs/metrics.md. */
export function metricsMarkdown(metrics: Readonly<Record<string, MetricDef>> = METRICS): string {
  const defs = Object.values(metrics);
  const sections = new Map<string, MetricDef[]>();
  for (const def of defs) {
    const section = subsystemOf(def.name);
    const list = sections.get(section) ?? [];
    list.push(def);
    sections.set(section, list);
  }
  const out: string[] = [
    '# Metrics',
    '',
    '<!-- Generated from src/metrics/catalogue.ts by `npm run docs:metrics`; do not edit by hand. -->',
    '',
    "pacer serves Prometheus's text format on `/metrics` of the admin port (`--admin-port`, 9090),",
    'streamed in chunks as the socket drains (at 100,000 backends the text is about 8 MB).',
    'Every metric of its own is defined once, in `src/metrics/catalogue.ts`, and listed here;',
    '`test/observability/metrics-docs.test.ts` fails when this page and the catalogue differ, and',
    '`test/observability/promtool.test.ts` runs `promtool check metrics` on a live pacer\'s output.',
    '',
    'Conventions: the `pacer_` prefix, base units (seconds, bytes), `_total` on counters, `_seconds` on',
    'durations, `_timestamp_seconds` on Unix times. Label values come from bounded sets (event types,',
    'reasons, results, and the apps and services Marathon knows); the series of an app, service or',
    'backend that disappears are removed with it.',
    '',
    'Besides these, Node\'s process metrics from prom-client\'s default collectors are served with their',
    'usual names: `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`,',
    '`nodejs_eventloop_lag_seconds` (and its `_p50`/`_p90`/`_p99` variants), `nodejs_heap_size_used_bytes`,',
    '`nodejs_gc_duration_seconds` and the rest of that family.',
    '',
    `${defs.length} metrics in ${sections.size} sections. Histogram buckets are upper bounds (\`le\`), in the metric's unit.`,
    '',
  ];
  for (const [section, list] of sections) {
    out.push(`## ${section}`, '', '| name | type | labels | meaning | buckets |', '|---|---|---|---|---|');
    for (const def of list) out.push(row(def));
    out.push('');
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../../docs/metrics.md', import.meta.url), metricsMarkdown());
}
