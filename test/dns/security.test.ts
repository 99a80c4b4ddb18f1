/**
 * Regressions from the security review, on real loopback sockets: datagrams from source port 0,
 * DNS over TCP without backpressure or a real idle timeout, and forwarded replies matched only by
 * the client's id (and by a string compare of the resolver's address).
 */
import { ForwardAllowList } from '../../src/dns/forward-allow.ts';
import { LOCAL_NETWORKS } from '../../src/config/options.ts';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { TableBuilder } from '../../src/model/routing-table.ts';
import { startDnsServer, type DnsConsumer, type DnsContext, type DnsOptions } from '../../src/dns/server.ts';
import { canonicalAddress } from '../../src/dns/forward.ts';
import { TYPE } from '../../src/dns/wire.ts';
import { frame, freePort, parse, query, splitFrames, tcpExchange, udpExchange } from '../helpers/dns.ts';
import { app, appState, snapshotOf, task } from '../helpers/model-data.ts';
import { waitFor } from '../helpers/processes.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(extra: Partial<DnsOptions> = {}, context: Partial<DnsContext> = {}): Promise<{ dns: DnsConsumer; port: number }> {
  const port = await freePort();
  const dns = await startDnsServer(
    { dnsBind: '127.0.0.1', dnsPort: port, dnsDomain: 'mesos', dnsTtlSeconds: 60, dnsResolvers: [], dnsForwardAllow: LOCAL_NETWORKS, dnsIpSources: ['netinfo', 'host'], dnsHttpPort: 0, ...extra },
    { logger: createLogger('silent'), metrics: createMetrics({ processMetrics: false }), ...context },
  );
  cleanups.push(() => dns.close(100));
  const builder = new TableBuilder({ groups: ['*'], strictMode: false, healthCheck: true, bind: '0.0.0.0' });
  dns.apply(builder.build(snapshotOf(appState(app('/web'), [task('/web', 1), task('/web', 2), task('/web', 3)]))).table, { added: [], removed: [], changed: [], apps: [], cluster: false });
  return { dns, port };
}

/** Poll `fn` until it returns true, or fail at the deadline. */
async function until(what: string, fn: () => boolean, timeoutMs = 5_000): Promise<void> {
  await waitFor(what, fn, timeoutMs, 5);
}

/** Records process-level failures while a test runs (they must never fire). */
function watchProcess(): unknown[] {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  const onException = (error: unknown) => seen.push(error);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  cleanups.push(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
  return seen;
}

const PORT0: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 0, size: 0 };

/** A reply to `q` (a query without OPT): QR set, one A record. */
function answerTo(q: Buffer, ip: string, options: { id?: number; name?: Buffer } = {}): Buffer {
  const question = options.name ?? q.subarray(12);
  const header = Buffer.from(q.subarray(0, 12));
  if (options.id !== undefined) header.writeUInt16BE(options.id, 0);
  header[2] = header[2]! | 0x80;
  header.writeUInt16BE(1, 6);
  header.writeUInt16BE(0, 10);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(TYPE.A, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(4, 10);
  ip.split('.').forEach((b, i) => (rr[12 + i] = Number(b)));
  return Buffer.concat([header, question, rr]);
}

function bindUdp(type: 'udp4' | 'udp6', address: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type);
    socket.once('error', reject);
    socket.bind(0, address, () => {
      cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
      resolve(socket);
    });
  });
}

describe('datagrams from source port 0', () => {
  it('are dropped and counted, answered or forwarded, and nothing reaches the process hooks', async () => {
    const seen = watchProcess();
    const silent = await bindUdp('udp4', '127.0.0.1');
    const { dns } = await start({ dnsResolvers: [{ host: '127.0.0.1', port: silent.address().port }] }, { forwardTimeoutMs: 100 });
    expect(() => dns.handleUdp(query('web.marathon.mesos', TYPE.A), PORT0)).not.toThrow();
    expect(() => dns.handleUdp(query('example.com', TYPE.A), PORT0)).not.toThrow();
    expect(dns.stats.udpDropped).toBe(2);
    // A forwarded reply whose send fails (here: the socket closed under it) must not reject unhandled.
    const asked = new Promise<void>((resolve) => silent.once('message', () => resolve()));
    dns.handleUdp(query('example.com', TYPE.A), { address: '127.0.0.1', family: 'IPv4', port: 9, size: 0 });
    await asked;
    await dns.close(100);
    await until('the SERVFAIL send on the closed socket to fail', () => dns.stats.sendErrors === 1);
    await new Promise((r) => setImmediate(r)); // let the process hooks run, were anything left unhandled
    expect(seen).toEqual([]);
  });
});

describe('DNS over TCP', () => {
  it('stops reading a client that pipelines without reading, and keeps answering others', async () => {
    const maxBuffered = 64 * 1024;
    const { dns, port } = await start({}, { tcp: { maxBuffered } });
    const q = query('web.marathon.mesos', TYPE.A);
    const framed = frame(q);
    const count = 300_000; // ~10 MB of queries, ~25 MB of replies: more than loopback's kernel buffers take
    const flood = Buffer.concat(Array.from({ length: count }, () => framed));
    const rssBefore = process.memoryUsage().rss;
    const greedy: Socket = connect({ port, host: '127.0.0.1' });
    cleanups.push(() => void greedy.destroy());
    greedy.on('error', () => {});
    greedy.pause(); // never reads
    await new Promise<void>((resolve) => greedy.once('connect', () => resolve()));
    greedy.setNoDelay(true);
    greedy.write(flood);
    await until('the server to hit its send cap', () => dns.tcpBuffered() >= maxBuffered);
    // Others still get answers while the flood sits there.
    const other = parse((await tcpExchange(port, q))!);
    expect(other.answers.length).toBe(3);
    expect(parse((await udpExchange(port, q))!).answers.length).toBe(3);
    // Bounded: the cap plus at most one reply over it.
    expect(dns.tcpBuffered()).toBeLessThanOrEqual(maxBuffered + 512);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(dns.tcpConnections()).toBe(1);
  });

  it('destroys an idle connection after the idle timeout, even without the client’s FIN', async () => {
    const { dns, port } = await start({}, { tcp: { idleTimeoutMs: 100 } });
    const idle = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    cleanups.push(() => void idle.destroy());
    idle.on('error', () => {});
    await until('the connection', () => dns.tcpConnections() === 1);
    await until('the idle connection to be destroyed', () => dns.tcpConnections() === 0, 3_000);
  });

  it('cuts a connection announcing a message over the size limit', async () => {
    const { dns, port } = await start({}, { tcp: { maxMessage: 512 } });
    const socket = connect({ port, host: '127.0.0.1' });
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.from([0xff, 0xff, 0, 0]));
    await closed;
    expect(dns.stats.tcpOversize).toBe(1);
  });

  it('answers pipelined queries in order over one connection', async () => {
    const { port } = await start();
    const socket = connect({ port, host: '127.0.0.1' });
    cleanups.push(() => void socket.destroy());
    const ids = [1, 2, 3, 4, 5];
    const frames = ids.map((id) => frame(query('web.marathon.mesos', TYPE.A, { id })));
    let buffered = Buffer.alloc(0);
    const got: number[] = [];
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = splitFrames(Buffer.concat([buffered, chunk]));
      for (const m of messages) got.push(m.readUInt16BE(0));
      buffered = rest;
    });
    socket.write(Buffer.concat(frames));
    await until('five replies', () => got.length === 5);
    expect(got).toEqual(ids);
  });
});

describe('forwarding', () => {
  it('sends its own id, ignores replies with the wrong id or question, and gives the client its id back', async () => {
    const upstream = await bindUdp('udp4', '127.0.0.1');
    const clientId = 0x4242;
    const seenIds: number[] = [];
    upstream.on('message', (msg, rinfo) => {
      seenIds.push(msg.readUInt16BE(0));
      // Spoofs first: the client's id, then the right id with another question; then the real reply.
      upstream.send(answerTo(msg, '192.0.2.66', { id: clientId }), rinfo.port, rinfo.address);
      upstream.send(answerTo(msg, '192.0.2.67', { name: query('evil.example', TYPE.A).subarray(12) }), rinfo.port, rinfo.address);
      upstream.send(answerTo(msg, '192.0.2.1'), rinfo.port, rinfo.address);
    });
    const { port } = await start({ dnsResolvers: [{ host: '127.0.0.1', port: upstream.address().port }] }, { forwardTimeoutMs: 1_000 });
    const replies: Buffer[] = [];
    for (let i = 0; i < 2; i++) replies.push((await udpExchange(port, query('Example.com', TYPE.A, { id: clientId })))!);
    for (const reply of replies) {
      expect(reply.readUInt16BE(0)).toBe(clientId);
      expect(parse(reply).answers.map((r) => r.address)).toEqual(['192.0.2.1']);
    }
    expect(seenIds.length).toBe(2);
    expect(seenIds.every((id) => id === clientId)).toBe(false);
  });

  it('rejects a TCP reply for another question (SERVFAIL), and accepts a matching one with the client id restored', async () => {
    let mode: 'wrong' | 'right' = 'wrong';
    const server: Server = createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        const q = chunk.subarray(2, 2 + chunk.readUInt16BE(0));
        const out = mode === 'wrong' ? answerTo(q, '192.0.2.9', { name: query('evil.example', TYPE.A).subarray(12) }) : answerTo(q, '192.0.2.1');
        socket.end(frame(out));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const upstreamPort = (server.address() as { port: number }).port;
    const { port } = await start({ dnsResolvers: [{ host: '127.0.0.1', port: upstreamPort }] }, { forwardTimeoutMs: 1_000 });
    const wrong = (await tcpExchange(port, query('example.com', TYPE.A, { id: 7 })))!;
    expect(wrong.readUInt16BE(2) & 0xf).toBe(2);
    mode = 'right';
    const right = (await tcpExchange(port, query('example.com', TYPE.A, { id: 7 })))!;
    expect(right.readUInt16BE(0)).toBe(7);
    expect(parse(right).answers.map((r) => r.address)).toEqual(['192.0.2.1']);
  });

  it('matches replies from a resolver given in a non-canonical IPv6 spelling', async () => {
    expect(canonicalAddress('2001:DB8:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    const upstream = await bindUdp('udp6', '::1');
    upstream.on('message', (msg, rinfo) => upstream.send(answerTo(msg, '192.0.2.1'), rinfo.port, rinfo.address));
    const { port } = await start({ dnsResolvers: [{ host: '0:0:0:0:0:0:0:1', port: upstream.address().port }] }, { forwardTimeoutMs: 500 });
    const reply = (await udpExchange(port, query('example.com', TYPE.A)))!;
    expect(parse(reply).answers.map((r) => r.address)).toEqual(['192.0.2.1']);
  });
});

describe('--dns-forward-allow', () => {
  it('forwards only for clients in the allowed networks; everyone else gets REFUSED and nothing reaches the resolver', async () => {
    const upstream = await bindUdp('udp4', '127.0.0.1');
    let asked = 0;
    upstream.on('message', (msg, rinfo) => {
      asked++;
      upstream.send(answerTo(msg, '192.0.2.1'), rinfo.port, rinfo.address);
    });
    const resolvers = [{ host: '127.0.0.1', port: upstream.address().port }];
    // Only 10.0.0.0/8 may recurse: the test's 127.0.0.1 is outside.
    const closed = await start({ dnsResolvers: resolvers, dnsForwardAllow: [{ network: '10.0.0.0', prefix: 8, family: 'ipv4' }] }, { forwardTimeoutMs: 500 });
    const refused = (await udpExchange(closed.port, query('example.com', TYPE.A)))!;
    expect(refused.readUInt16BE(2) & 0xf).toBe(5);
    expect(refused.readUInt16BE(2) & 0x80).toBe(0); // no RA for this client
    const refusedTcp = (await tcpExchange(closed.port, query('example.com', TYPE.A)))!;
    expect(refusedTcp.readUInt16BE(2) & 0xf).toBe(5);
    expect(closed.dns.stats.forwardRefused).toBe(2);
    // Names in the zone are answered to anyone.
    expect(parse((await udpExchange(closed.port, query('web.marathon.mesos', TYPE.A)))!).answers.length).toBe(3);
    expect(asked).toBe(0);
    // The default (loopback and private ranges) lets the test forward.
    const open = await start({ dnsResolvers: resolvers }, { forwardTimeoutMs: 500 });
    expect(parse((await udpExchange(open.port, query('example.com', TYPE.A)))!).answers.map((r) => r.address)).toEqual(['192.0.2.1']);
    expect(asked).toBe(1);
  });

  it('matches IPv4 clients of a dual-stack socket (::ffff:a.b.c.d) and IPv6 networks', () => {
    const list = new ForwardAllowList(LOCAL_NETWORKS);
    for (const ok of ['127.0.0.1', '10.1.2.3', '172.31.255.255', '192.168.0.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) expect(list.allows(ok), ok).toBe(true);
    for (const no of ['8.8.8.8', '172.32.0.1', '192.0.2.1', '2001:db8::1', '::ffff:8.8.8.8', '']) expect(list.allows(no), no).toBe(false);
  });
});
