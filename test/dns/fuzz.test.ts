/**
 * Bad input: 100,000+ mutated and random packets (seeded, so a failure can be replayed) at a
 * running server over UDP, and garbage over TCP. The server must stay up, log no handler failure,
 * and still answer valid queries correctly afterwards.
 */
import { LOCAL_NETWORKS } from '../../src/config/options.ts';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics/registry.ts';
import { TableBuilder } from '../../src/model/routing-table.ts';
import { startDnsServer, type DnsConsumer } from '../../src/dns/server.ts';
import { TYPE } from '../../src/dns/wire.ts';
import { freePort, parse, query, tcpExchange, udpExchange } from '../helpers/dns.ts';
import { app, appState, port as appPort, snapshotOf, task } from '../helpers/model-data.ts';
import { seededRandom } from '../helpers/random.ts';
import { mutate } from '../reliability/dns-fuzz-lib.ts';

const SEED = 0x5eed_d25;
const PACKETS = 100_000;

const prng = seededRandom;

let dns: DnsConsumer;
let port: number;
let metrics: Metrics;
const errors: string[] = [];

beforeAll(async () => {
  port = await freePort();
  metrics = createMetrics({ processMetrics: false });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const line = chunk.toString();
      if (/"level":"(error|fatal)"/.test(line)) errors.push(line);
      callback();
    },
  });
  dns = await startDnsServer(
    { dnsBind: '127.0.0.1', dnsPort: port, dnsDomain: 'mesos', dnsTtlSeconds: 60, dnsResolvers: [], dnsForwardAllow: LOCAL_NETWORKS, dnsIpSources: ['netinfo', 'host'], dnsHttpPort: 0 },
    { logger: createLogger('warn', sink), metrics },
  );
  const web = app('/prod/web', { ports: [appPort(0, 10001, { name: 'http' }), appPort(1, 10002, { name: 'gossip', protocols: ['udp', 'tcp'] })] });
  const tasks = Array.from({ length: 30 }, (_, i) => task('/prod/web', i + 1, { ports: [31000 + i, 32000 + i] }));
  dns.apply(new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' }).build(snapshotOf(appState(web, tasks))).table, {
    added: [],
    removed: [],
    changed: [],
    apps: [],
    cluster: false,
  });
});

afterAll(async () => {
  await dns?.close(100);
});

describe('fuzzing', () => {
  it(`survives ${PACKETS} mutated and random packets over UDP, and TCP garbage`, async () => {
    const rand = prng(SEED);
    const client = createSocket('udp4');
    let replies = 0;
    client.on('message', () => replies++);
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
    const deadline = Date.now() + 20_000;
    let sent = 0;
    while (sent < PACKETS && Date.now() < deadline) {
      for (let i = 0; i < 250; i++, sent++) client.send(mutate(rand), port, '127.0.0.1');
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sent).toBe(PACKETS);
    // Replies still in flight: wait for enough of them (with a deadline), not for a fixed time.
    const repliesBy = Date.now() + 5_000;
    while (replies <= PACKETS / 10 && Date.now() < repliesBy) await new Promise((resolve) => setTimeout(resolve, 10));
    client.close();
    expect(replies).toBeGreaterThan(PACKETS / 10);

    // TCP: garbage frames, bad lengths, a connection cut mid-message.
    for (let c = 0; c < 200; c++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          const body = mutate(rand);
          const frame = Buffer.alloc(2 + body.length);
          frame.writeUInt16BE(rand() < 0.8 ? body.length : Math.floor(rand() * 65536), 0);
          body.copy(frame, 2);
          socket.end(frame);
        });
        socket.on('data', () => {});
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.setTimeout(1_000, () => socket.destroy());
      });
    }

    // Still up, still right.
    const a = parse((await udpExchange(port, query('web-prod.marathon.mesos', TYPE.A, { edns: 4096 })))!);
    expect(a.answers.map((r) => r.address).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `10.0.1.${i + 1}`).sort());
    const srv = parse((await tcpExchange(port, query('_http._web-prod._tcp.marathon.mesos', TYPE.SRV)))!);
    expect(srv.answers).toHaveLength(30);
    expect(errors).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('pacer_dns_malformed_total')).toMatch(/pacer_dns_malformed_total \d{4,}/);
  }, 60_000);
});
