/**
 * A quick qps figure for docs/dns.md (not a test): `node test/dns/qps.ts`.
 * 1. the query path alone (Answerer.answer on pre-built queries, in-process);
 * 2. the server over loopback UDP, loaded by a worker thread keeping 200 queries in flight.
 */
import { LOCAL_NETWORKS } from '../../src/config/options.ts';
import { Worker } from 'node:worker_threads';
import { Answerer, UDP } from '../../src/dns/answer.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { TableBuilder } from '../../src/model/routing-table.ts';
import { startDnsServer } from '../../src/dns/server.ts';
import { TYPE } from '../../src/dns/wire.ts';
import { freePort, query } from '../helpers/dns.ts';
import { app, appState, port as appPort, snapshotOf, task } from '../helpers/model-data.ts';

const apps = Array.from({ length: 200 }, (_, i) => {
  const id = `/group${i % 10}/app${i}`;
  return appState(
    app(id, { ports: [appPort(0, 10000 + i, { name: 'http' })] }),
    Array.from({ length: 3 }, (_, k) => task(id, k + 1, { ports: [31000 + k] })),
  );
});
const table = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' }).build(snapshotOf(...apps)).table;
const queries = [
  query('app7-group7.marathon.mesos', TYPE.A),
  query('_app7-group7._tcp.marathon.mesos', TYPE.SRV),
  query('_http._app42-group2._tcp.marathon.mesos', TYPE.SRV, { edns: 1232 }),
  query('nope.marathon.mesos', TYPE.A),
];

const port = await freePort();
const dns = await startDnsServer(
  { dnsBind: '127.0.0.1', dnsPort: port, dnsDomain: 'mesos', dnsTtlSeconds: 60, dnsResolvers: [], dnsForwardAllow: LOCAL_NETWORKS, dnsIpSources: ['netinfo', 'host'], dnsHttpPort: 0 },
  { logger: createLogger('silent'), metrics: createMetrics({ processMetrics: false }) },
);
const started = performance.now();
dns.apply(table, { added: [], removed: [], changed: [], apps: [], cluster: false });
// More than BUILD_SLICING.minTasks tasks: the zone is built in slices.
await dns.ready();
console.log(`zone: ${dns.zone()?.names.size} names, ${dns.zone()?.recordCount} records, built in ${(performance.now() - started).toFixed(1)} ms`);

const answerer = new Answerer({ domain: 'mesos', forwarding: false });
answerer.setZone(dns.zone()!);
let n = 0;
const t0 = performance.now();
while (performance.now() - t0 < 2_000) for (let i = 0; i < 1_000; i++, n++) answerer.answer(queries[n & 3]!, UDP);
console.log(`query path in-process: ${Math.round(n / ((performance.now() - t0) / 1000))} answers/s`);

const worker = new Worker(
  `
  const { parentPort, workerData } = require('node:worker_threads');
  const dgram = require('node:dgram');
  const socket = dgram.createSocket('udp4');
  const queries = workerData.queries.map((q) => Buffer.from(q));
  let sent = 0, got = 0;
  const window = 200, end = Date.now() + 3000;
  socket.on('message', () => { got++; if (Date.now() < end) { socket.send(queries[sent++ & 3], workerData.port, '127.0.0.1'); } else if (got >= sent - window) finish(); });
  function finish() { socket.close(); parentPort.postMessage({ got, ms: 3000 }); }
  setTimeout(() => { try { socket.close(); } catch {} parentPort.postMessage({ got, ms: 3000 }); }, 3500);
  for (let i = 0; i < window; i++) socket.send(queries[sent++ & 3], workerData.port, '127.0.0.1');
  `,
  { eval: true, workerData: { port, queries: queries.map((q) => [...q]) } },
);
const result = await new Promise<{ got: number; ms: number }>((resolve) => worker.once('message', resolve));
console.log(`UDP over loopback (1 server thread, 200 in flight): ${Math.round(result.got / (result.ms / 1000))} qps`);
await worker.terminate();
await dns.close(100);
