/**
 * Proxy benches (the logic of bench/proxy-quick.ts): HAProxy 2.6 `nbthread 1` in http and tcp mode
 * and pacer's HTTP-mode and TCP-mode service ports (one process, and `--workers 2`), all in front
 * of the same backend process (bench/backend.ts), loaded by the same `wrk -t1` in interleaved
 * rounds; then latency at a fixed rate (half of HAProxy's median http req/s) with bench/loadgen.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, startPacer, waitFor } from '../test/helpers/processes.ts';
import { freePorts } from '../test/proxy/helpers.ts';
import { BACKEND, HAPROXY, answers200, loadgen, loadgenArgs, log, median, portOpen, started, startChild, wrk, wrkArgs, type LoadgenResult, type WrkResult } from './lib.ts';
import type { Row } from './table.ts';

export interface ProxyOptions {
  readonly runs: number;
  readonly seconds: number;
  readonly connections: number;
}

export function haproxyConfig(http: number, tcp: number, backend: number): string {
  return `global
  nbthread 1
  maxconn 4000
defaults
  timeout connect 5s
  timeout client 50s
  timeout server 50s
frontend http_in
  mode http
  bind 127.0.0.1:${http}
  option forwardfor
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request add-header X-Forwarded-Proto https if { ssl_fc }
  default_backend http_be
backend http_be
  mode http
  server s1 127.0.0.1:${backend}
frontend tcp_in
  mode tcp
  bind 127.0.0.1:${tcp}
  default_backend tcp_be
backend tcp_be
  mode tcp
  server s1 127.0.0.1:${backend}
`;
}

export async function proxyBench(o: ProxyOptions): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pacer-bench-proxy-'));
  const WORKERS = [1, 2];
  try {
    const [backendPort, haHttp, haTcp, ...spare] = await freePorts(3 + WORKERS.length * 4);
    const backendPorts = [backendPort!, ...spare.slice(0, WORKERS.length * 2)];
    const listenPorts = spare.slice(WORKERS.length * 2);
    const backend = startChild(process.execPath, [BACKEND, ...backendPorts.map(String)]);
    await new Promise<void>((resolve, reject) => {
      backend.stdout?.once('data', () => resolve());
      backend.once('exit', () => reject(new Error('backend exited')));
    });
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(haHttp!, haTcp!, backendPort!));
    startChild(HAPROXY, ['-db', '-f', cfg]);
    await waitFor('haproxy', () => portOpen(haHttp!), 5_000);

    const emulator = await startEmulator();
    started.push(emulator);
    const ports = new Map<string, number>([
      ['haproxy http', haHttp!],
      ['haproxy tcp', haTcp!],
    ]);
    for (const [i, workers] of WORKERS.entries()) {
      const group = `bench${i}`;
      const app = (id: string, backendPortOf: number, listen: number, mode: string) => ({
        app: { id, instances: 1, cmd: 'serve', requirePorts: true, portDefinitions: [{ port: backendPortOf }], labels: { HAPROXY_GROUP: group, HAPROXY_0_MODE: mode, HAPROXY_0_PORT: String(listen) } },
        backend: 'none',
      });
      const [lHttp, lTcp] = [listenPorts[i * 2]!, listenPorts[i * 2 + 1]!];
      await emulator.post('/apps', app(`/bench/w${workers}/http`, backendPorts[1 + i * 2]!, lHttp, 'http'));
      await emulator.post('/apps', app(`/bench/w${workers}/tcp`, backendPorts[2 + i * 2]!, lTcp, 'tcp'));
      const args = ['--marathon', emulator.leader, '--group', group, '--log-level', 'info'];
      if (workers > 1) args.push('--workers', String(workers));
      started.push(await startPacer(args));
      await waitFor(`pacer (workers ${workers}) http port`, () => answers200(lHttp), 15_000, 100);
      await waitFor(`pacer (workers ${workers}) tcp port`, () => answers200(lTcp), 15_000, 100);
      ports.set(`pacer w${workers} http`, lHttp);
      ports.set(`pacer w${workers} tcp`, lTcp);
    }

    // Throughput: every path once per round.
    const results = new Map<string, WrkResult[]>();
    for (let round = 0; round < o.runs; round++) {
      for (const [name, port] of ports) {
        const r = await wrk(port, o.connections, o.seconds);
        log(`proxy round ${round + 1}/${o.runs} ${name}: ${Math.round(r.rps)} req/s, p99 ${r.p99ms} ms${r.errors ? `, ${r.errors} errors` : ''}`);
        results.set(name, [...(results.get(name) ?? []), r]);
      }
    }
    const rps = (name: string) => (results.get(name) ?? []).map((r) => r.rps);
    const errors = (name: string) => (results.get(name) ?? []).reduce((a, r) => a + r.errors, 0);

    // Latency at a fixed rate: half of HAProxy's median http throughput, same rate for both.
    const rate = Math.max(500, Math.round(median(rps('haproxy http')) / 2));
    const lat = new Map<string, LoadgenResult[]>();
    for (let round = 0; round < o.runs; round++) {
      for (const name of ['haproxy http', 'pacer w1 http']) {
        const r = await loadgen(ports.get(name)!, rate, o.seconds, 32);
        log(`latency round ${round + 1}/${o.runs} ${name} at ${rate}/s: p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, ${Math.round(r.rate)} ok/s, ${r.errors} errors`);
        lat.set(name, [...(lat.get(name) ?? []), r]);
      }
    }
    const p99s = (name: string) => (lat.get(name) ?? []).map((r) => r.p99ms);

    const wrkCmd = `wrk ${wrkArgs(0, o.connections, o.seconds).join(' ').replace('127.0.0.1:0', '127.0.0.1:<port>')}`;
    const errNote = (a: string, b: string) => `errors: pacer ${errors(a)}, peer ${errors(b)}`;
    const med = (xs: readonly number[]) => Math.round(median(xs)).toLocaleString('en-US');
    return [
      {
        bench: 'HTTP throughput, keep-alive, 1 process / 1 thread each',
        summary: 'runs',
        unit: 'req/s',
        pacer: rps('pacer w1 http'),
        peer: { name: 'HAProxy 2.6 http mode, nbthread 1', values: rps('haproxy http') },
        target: { kind: 'ratio-at-least', min: 0.5 },
        command: wrkCmd,
        note: `${o.runs} interleaved rounds of ${o.seconds} s; backend straight: not measured here (see docs/proxy.md); ${errNote('pacer w1 http', 'haproxy http')}`,
      },
      {
        bench: 'TCP throughput, request/response over one connection each',
        summary: 'runs',
        unit: 'req/s',
        pacer: rps('pacer w1 tcp'),
        peer: { name: 'HAProxy 2.6 tcp mode, nbthread 1', values: rps('haproxy tcp') },
        target: { kind: 'ratio-at-least', min: 0.9 },
        command: wrkCmd,
        note: `HTTP/1.1 keep-alive requests through a tcp-mode port: each of the ${o.connections} connections carries request/response pairs; ${errNote('pacer w1 tcp', 'haproxy tcp')}`,
      },
      {
        bench: `latency at a fixed rate (${rate.toLocaleString('en-US')} req/s, half of HAProxy's median), p99`,
        summary: 'runs',
        unit: 'ms',
        pacer: p99s('pacer w1 http'),
        peer: { name: 'HAProxy 2.6 http mode, nbthread 1', values: p99s('haproxy http') },
        target: { kind: 'ratio-at-most', max: 1.5 },
        command: `node ${loadgenArgs(0, rate, o.seconds, 32).join(' ').replace(/^\S*\/bench\//, 'bench/').replace('--port 0', '--port <port>')}`,
        note: `bench/loadgen.ts, an open-loop fixed-rate generator written for this (Debian's wrk 4 has no -R, Debian has no wrk2); latency from each request's due time, timer tick ≈ 1 ms; p50 medians: pacer ${median((lat.get('pacer w1 http') ?? []).map((r) => r.p50ms)).toFixed(2)} ms, HAProxy ${median((lat.get('haproxy http') ?? []).map((r) => r.p50ms)).toFixed(2)} ms`,
      },
      {
        bench: '`--workers 2` vs `--workers 1`, HTTP',
        summary: 'runs',
        unit: 'req/s',
        pacer: rps('pacer w2 http'),
        peer: { name: 'pacer --workers 1', values: rps('pacer w1 http') },
        target: { kind: 'ratio-at-least', min: 1.6 },
        command: `pacer --workers 2; ${wrkCmd}`,
        note: `2-core machine shared by wrk, the backend and the proxy: a second worker has no core of its own. TCP: --workers 2 ${med(rps('pacer w2 tcp'))} req/s vs 1 worker ${med(rps('pacer w1 tcp'))} (medians)`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
