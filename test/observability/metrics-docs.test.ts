/**
 * The metric catalogue is the one source: docs/metrics.md is generated from it, and its names
 * follow Prometheus's conventions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS, type MetricDef } from '../../src/metrics/catalogue.ts';
import { metricsMarkdown } from '../../src/metrics/docs.ts';

const defs: readonly MetricDef[] = Object.values(METRICS);

describe('docs/metrics.md', () => {
  it('is exactly what `npm run docs:metrics` generates from the catalogue', () => {
    const committed = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    expect(committed, 'docs/metrics.md is stale: run `npm run docs:metrics`').toBe(metricsMarkdown());
  });

  it('lists every metric with its type, labels and buckets', () => {
    const page = metricsMarkdown();
    for (const def of defs) {
      const line = page.split('\n').find((l) => l.startsWith(`| \`${def.name}\` |`));
      expect(line, def.name).toBeDefined();
      expect(line).toContain(`| ${def.type} |`);
      for (const label of def.labelNames) expect(line).toContain(`\`${label}\``);
      if (def.buckets) expect(line).toContain(def.buckets.join(', '));
    }
  });
});

describe('the metric catalogue', () => {
  it('has unique, well-formed names with the pacer_ prefix', () => {
    const names = defs.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^pacer_[a-z][a-z0-9_]*[a-z0-9]$/);
  });

  it('ends counters, and only counters, in _total', () => {
    for (const def of defs) {
      if (def.type === 'counter') expect(def.name, def.name).toMatch(/_total$/);
      else expect(def.name, def.name).not.toMatch(/_total$/);
    }
  });

  it('uses base units: no milliseconds, kilobytes or percentages', () => {
    for (const def of defs) expect(def.name, def.name).not.toMatch(/_(milliseconds|ms|microseconds|kilobytes|megabytes|percent)(_|$)/);
    for (const def of defs) if (/_seconds(_|$)/.test(def.name)) expect(def.help, def.name).not.toMatch(/\bmilliseconds?\b/);
  });

  it('gives every histogram strictly increasing buckets, and only histograms buckets', () => {
    for (const def of defs) {
      if (def.type !== 'histogram') {
        expect(def.buckets, def.name).toBeUndefined();
        continue;
      }
      const buckets = def.buckets ?? [];
      expect(buckets.length, def.name).toBeGreaterThan(1);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!, def.name).toBeGreaterThan(buckets[i - 1]!);
    }
  });

  it('has help text and valid, non-reserved label names', () => {
    for (const def of defs) {
      expect(def.help.length, def.name).toBeGreaterThan(10);
      expect(def.help, def.name).toMatch(/\.$/);
      for (const label of def.labelNames) {
        expect(label, def.name).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(['le', 'quantile', 'job', 'instance'], def.name).not.toContain(label);
      }
    }
  });

  it('keeps cardinality bounded: no label that carries a task id, address or free text', () => {
    // `backend` is host:port of a live task (bounded by the cluster, removed with the task).
    const unbounded = ['task', 'task_id', 'taskid', 'url', 'path', 'client', 'client_ip', 'remote_address', 'message'];
    for (const def of defs) for (const label of def.labelNames) expect(unbounded, `${def.name}{${label}}`).not.toContain(label);
  });
});
