import { describe, expect, it } from 'vitest';
import { exposition, mergedSeriesText, packSeries, replaceExposition } from '../../src/metrics/exposition.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { ServiceMetrics, type BackendCounters } from '../../src/proxy/metrics.ts';

async function streamed(metrics: ReturnType<typeof createMetrics>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of exposition(metrics.registry)) chunks.push(chunk);
  return chunks;
}

/** The sample and comment lines, in a stable order (families may be ordered or spaced differently). */
const lines = (text: string) => text.split('\n').filter((l) => l !== '').sort();

describe('the streamed /metrics exposition', () => {
  it("writes the same lines as prom-client's metrics(), collected per-backend series included, escaped alike", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const odd = new ServiceMetrics(metrics, 'odd "name" \\ with\na line feed:80');
    const plain = new ServiceMetrics(metrics, '127.0.0.1:10000');
    const backends: BackendCounters[] = [
      { name: '10.0.0.1:31000', up: true, connectErrors: 2, ejectionsTotal: 1 },
      { name: '10.0.0.2:31000', up: false, connectErrors: 0, ejectionsTotal: 0 },
      // Two tasks on one address:port (one draining): one series, up when either is, counters added.
      { name: '10.0.0.2:31000', up: true, connectErrors: 3, ejectionsTotal: 0 },
      { name: 'host"with\\quote:1', up: true, connectErrors: 0, ejectionsTotal: 0 },
    ];
    odd.serveBackends(() => backends);
    plain.serveBackends(() => backends.slice(0, 2));
    plain.duration.observe(0.004);
    odd.request('GET', 200);
    metrics.dnsQueries.inc({ qtype: 'A', rcode: 'NOERROR' }, 3);

    const expected = await metrics.registry.metrics();
    const got = (await streamed(metrics)).join('');
    expect(lines(got)).toEqual(lines(expected));
    expect(got).toContain('pacer_backend_up{service="odd \\"name\\" \\\\ with\\na line feed:80",backend="host\\"with\\\\quote:1"} 1\n');
    expect(got).toContain('pacer_backend_up{service="127.0.0.1:10000",backend="10.0.0.2:31000"} 0\n');
    expect(got).toContain('pacer_backend_connect_errors_total{service="odd \\"name\\" \\\\ with\\na line feed:80",backend="10.0.0.2:31000"} 3\n');
  });

  it('comes in chunks of about 64 KB at 20,000 backends, the same lines', async () => {
    const metrics = createMetrics({ processMetrics: false });
    for (let s = 0; s < 2_000; s++) {
      const service = new ServiceMetrics(metrics, `127.0.0.1:${10_000 + s}`);
      const backends = Array.from({ length: 10 }, (_, k) => ({ name: `10.${s >> 8}.${s & 255}.${k}:31000`, up: k !== 3, connectErrors: k === 5 ? 1 : 0, ejectionsTotal: 0 }));
      service.serveBackends(() => backends);
    }
    const chunks = await streamed(metrics);
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(chunk.length).toBeLessThan(64 * 1024 + 4096);
    const text = chunks.join('');
    expect(lines(text)).toEqual(lines(await metrics.registry.metrics()));
    expect(text.split('\n').filter((l) => l.startsWith('pacer_backend_up{')).length).toBe(20_000);
  });

  it('packs a per-backend family for IPC and merges the packs of several workers (max for the gauge, sum for counters) into the same text', async () => {
    const worker = (up: boolean, errors: number) => {
      const metrics = createMetrics({ processMetrics: false });
      new ServiceMetrics(metrics, 'svc "q" 1').serveBackends(() => [
        { name: '10.0.0.1:1', up, connectErrors: errors, ejectionsTotal: 0 },
        { name: '10.0.0.2:2', up: true, connectErrors: 0, ejectionsTotal: 0 },
      ]);
      return metrics;
    };
    const a = worker(false, 2);
    const b = worker(true, 3);
    // One pack alone: the lines the streamed exposition writes for that family.
    const alone = mergedSeriesText(a.proxyBackendUp, [packSeries(a.proxyBackendUp)], 'max');
    const streamedUp = (await streamed(a)).join('').split('\n').filter((l) => l.includes('pacer_backend_up')).sort();
    expect(lines(alone)).toEqual(streamedUp);
    const up = mergedSeriesText(a.proxyBackendUp, [packSeries(a.proxyBackendUp), packSeries(b.proxyBackendUp)], 'max');
    expect(up).toContain('pacer_backend_up{service="svc \\"q\\" 1",backend="10.0.0.1:1"} 1\n');
    const errors = mergedSeriesText(a.proxyBackendConnectErrors, [packSeries(a.proxyBackendConnectErrors), packSeries(b.proxyBackendConnectErrors)], 'sum');
    expect(errors).toContain('pacer_backend_connect_errors_total{service="svc \\"q\\" 1",backend="10.0.0.1:1"} 5\n');
    expect(errors.split('\n').filter((l) => l.startsWith('pacer_backend_connect_errors_total{'))).toHaveLength(1);
  });

  it("writes a replaced exposition (the --workers primary's merge) as that text", async () => {
    const metrics = createMetrics({ processMetrics: false });
    replaceExposition(metrics.registry, () => Promise.resolve('merged 1\n'));
    expect(await streamed(metrics)).toEqual(['merged 1\n']);
  });
});
