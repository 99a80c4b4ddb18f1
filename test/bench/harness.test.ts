/**
 * The benchmark harness's table (bench/table.ts) on fixed numbers: the pass/miss rule of every
 * kind of target and the Markdown it renders. The benches themselves are not part of `npm test`.
 */
import { describe, expect, it } from 'vitest';
import { fmt, ratio, renderDocument, renderTable, summarise, verdict, type Row } from '../../bench/table.ts';

const http: Row = {
  bench: 'HTTP throughput',
  summary: 'runs',
  unit: 'req/s',
  pacer: [6_000, 8_000, 7_000],
  peer: { name: 'HAProxy', values: [14_000, 15_000, 20_000] },
  target: { kind: 'ratio-at-least', min: 0.5 },
  command: 'wrk -t1 -c16 -d5s',
};

describe('bench table', () => {
  it('summarises runs as min / median / max and events as p50 / p99 / max', () => {
    expect(summarise([3, 1, 2], 'runs')).toMatchObject({ low: 1, mid: 2, high: 3 });
    const events = Array.from({ length: 101 }, (_, i) => i);
    expect(summarise(events, 'events')).toMatchObject({ low: 50, mid: 99, high: 100 });
  });

  it('compares medians for ratio targets, in both directions', () => {
    expect(ratio(http)).toBeCloseTo(7_000 / 15_000);
    expect(verdict(http)).toBe('miss');
    expect(verdict({ ...http, pacer: [7_500, 7_600, 9_000] })).toBe('pass');
    const latency: Row = { ...http, unit: 'ms', pacer: [4, 5, 6], peer: { name: 'HAProxy', values: [3, 4, 5] }, target: { kind: 'ratio-at-most', max: 1.5 } };
    expect(verdict(latency)).toBe('pass');
    expect(verdict({ ...latency, pacer: [7, 8, 9] })).toBe('miss');
  });

  it('checks absolute targets on the statistic they name', () => {
    const events: Row = { bench: 'event → traffic', summary: 'events', unit: 'ms', pacer: [...Array.from({ length: 90 }, () => 5), ...Array.from({ length: 10 }, () => 50)], target: { kind: 'at-most', stat: 'p99', max: 20 }, command: 'x' };
    expect(verdict(events)).toBe('miss');
    expect(verdict({ ...events, target: { kind: 'at-most', stat: 'median', max: 20 } })).toBe('pass');
    expect(verdict({ ...events, pacer: Array.from({ length: 30 }, () => 5) })).toBe('pass');
    const churn: Row = { bench: 'churn', summary: 'runs', unit: 'failures', pacer: [0], target: { kind: 'at-most', stat: 'max', max: 0 }, command: 'x' };
    expect(verdict(churn)).toBe('pass');
    expect(verdict({ ...churn, pacer: [1] })).toBe('miss');
    expect(verdict({ ...churn, target: { kind: 'at-least', stat: 'median', min: 1 } })).toBe('miss');
  });

  it('gives no verdict without figures, a peer, or a target', () => {
    expect(verdict({ ...http, pacer: [] })).toBe('n/a');
    expect(verdict({ ...http, peer: undefined })).toBe('n/a');
    expect(verdict({ ...http, target: undefined })).toBe('n/a');
    expect(verdict({ ...http, notMeasured: 'no nsd' })).toBe('n/a');
  });

  it('renders one Markdown row per bench with figures, ratio, target and mark', () => {
    const table = renderTable([
      http,
      { ...http, bench: 'TCP throughput', pacer: [16_000, 17_000, 18_000], peer: { name: 'HAProxy tcp', values: [15_000, 15_000, 16_000] }, target: { kind: 'ratio-at-least', min: 0.9 } },
      { bench: 'DNS A', summary: 'runs', unit: 'qps', pacer: [], peer: { name: 'NSD', values: [] }, target: { kind: 'ratio-at-least', min: 0.6 }, command: '', notMeasured: 'nsd could not be installed' },
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe('| HTTP throughput | req/s | 3 runs | 6,000 / 7,000 / 8,000 | HAProxy | 14,000 / 15,000 / 20,000 | 0.47x | ≥ 0.5x | ❌ miss |');
    expect(lines[3]).toContain('| 1.13x | ≥ 0.9x | ✅ pass |');
    expect(lines[4]).toContain('not measured yet: nsd could not be installed');
    for (const line of lines) expect(line.split('|')).toHaveLength(11);
  });

  it('writes the machine, the versions, the commands and what is missing into the document', () => {
    const doc = renderDocument(
      { date: '2025-01-01 00:00 UTC', cpu: 'AMD EPYC', cores: 2, memory: '23.5 GiB', os: 'Debian', versions: { node: 'v24.21.0', haproxy: '2.6.12' }, wallSeconds: 600, benches: ['proxy'] },
      [http, { ...http, bench: 'DNS A', pacer: [], notMeasured: 'not run' }],
      { notes: 'NOTES', tried: 'TRIED' },
    );
    expect(doc).toContain('AMD EPYC, 2 cores, 23.5 GiB');
    expect(doc).toContain('node v24.21.0, haproxy 2.6.12');
    expect(doc).toContain('- **HTTP throughput**: `wrk -t1 -c16 -d5s`');
    expect(doc).toContain('## Not measured yet\n\n- **DNS A**: not run');
    expect(doc).toContain('TRIED');
  });

  it('formats numbers for the table', () => {
    expect(fmt(12_345.6)).toBe('12,346');
    expect(fmt(12.34)).toBe('12.3');
    expect(fmt(1.234)).toBe('1.23');
    expect(fmt(0)).toBe('0');
    expect(fmt(0.1234)).toBe('0.123');
    expect(fmt(Number.NaN)).toBe('–');
  });
});
