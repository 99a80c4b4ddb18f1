// UDP service ports: per-client flows to real dgram echo servers on loopback.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Balancer, Upstream } from '../../src/proxy/balancer.ts';
import { createBalancer } from '../../src/proxy/balancers/index.ts';
import { UdpProxy } from '../../src/proxy/udp.ts';
import type { UdpProxyOptions } from '../../src/proxy/udp.ts';
import { waitFor } from '../helpers/processes.ts';

async function waitUntil(fn: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  await waitFor(what, fn, timeoutMs, 5);
}

/** Everything a test opens, closed after it. */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try { socket.close(() => resolve()); } catch { resolve(); }
  });
}

function bindSocket(type: 'udp4' | 'udp6', address: string, port = 0): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(type);
    socket.once('error', reject);
    socket.bind(port, address, () => { socket.off('error', reject); closers.push(() => closeSocket(socket)); resolve(socket); });
  });
}

interface Echo { readonly upstream: Upstream; readonly name: string; readonly senders: Set<string>; received: number }

/** An echo server that answers `<name>|<payload>` and remembers who sent to it. */
async function echo(name: string, address = '127.0.0.1'): Promise<Echo> {
  const socket = await bindSocket(address.includes(':') ? 'udp6' : 'udp4', address);
  const port = socket.address().port;
  const e: Echo = { upstream: { key: `${name}@${address}:${port}`, address, port, active: 0 }, name, senders: new Set(), received: 0 };
  socket.on('message', (msg, rinfo) => {
    e.received++;
    e.senders.add(`${rinfo.address}:${rinfo.port}`);
    socket.send(`${name}|${msg.toString()}`, rinfo.port, rinfo.address);
  });
  return e;
}

class Client {
  readonly socket: dgram.Socket;
  readonly inbox: string[] = [];
  constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on('message', (msg) => this.inbox.push(msg.toString()));
  }
  /** Send and wait for the next reply, deadline-bound. */
  async ask(port: number, payload: string, address = '127.0.0.1'): Promise<string> {
    const before = this.inbox.length;
    this.socket.send(payload, port, address);
    await waitUntil(() => this.inbox.length > before, 3000, `a reply to ${payload}`);
    return this.inbox[before]!;
  }
}

async function client(address = '127.0.0.1'): Promise<Client> {
  return new Client(await bindSocket(address.includes(':') ? 'udp6' : 'udp4', address));
}

async function proxy(options: Partial<UdpProxyOptions> & { upstreams?: Upstream[] } = {}): Promise<{ p: UdpProxy; port: number }> {
  const p = new UdpProxy({ bind: '127.0.0.1', port: 0, balancer: createBalancer('roundrobin'), ...options });
  p.setUpstreams(options.upstreams ?? []);
  await p.listen();
  closers.push(() => p.close());
  return { p, port: p.address().port };
}

/** Containers without IPv6 loopback skip the IPv6 case. */
const hasIPv6 = await new Promise<boolean>((resolve) => {
  const s = dgram.createSocket('udp6');
  s.once('error', () => { s.close(); resolve(false); });
  s.bind(0, '::1', () => s.close(() => resolve(true)));
});

const upstreamName = (reply: string): string => reply.split('|')[0]!;

describe('UdpProxy', () => {
  it('relays a datagram to an upstream and its reply back from the service port', async () => {
    const a = await echo('a');
    const { p, port } = await proxy({ upstreams: [a.upstream] });
    const c = await client();
    const replies: string[] = [];
    c.socket.on('message', (_msg, rinfo) => replies.push(`${rinfo.address}:${rinfo.port}`));
    expect(await c.ask(port, 'hello')).toBe('a|hello');
    expect(replies).toEqual([`127.0.0.1:${port}`]);
    expect(p.flows).toBe(1);
    expect(a.upstream.active).toBe(1);
    // Binary payloads pass untouched, and an empty datagram too.
    expect(await c.ask(port, '')).toBe('a|');
  });

  it('spreads three clients over three upstreams, and each flow keeps its upstream', async () => {
    const echoes = [await echo('a'), await echo('b'), await echo('c')];
    const { p, port } = await proxy({ upstreams: echoes.map((e) => e.upstream) });
    const clients = [await client(), await client(), await client()];
    const first: string[] = [];
    for (const c of clients) first.push(upstreamName(await c.ask(port, 'one')));
    expect(new Set(first).size).toBe(3);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < clients.length; i++) expect(upstreamName(await clients[i]!.ask(port, `m${round}`))).toBe(first[i]);
    }
    expect(p.flows).toBe(3);
    // One upstream socket per flow: each echo saw exactly one sender.
    for (const e of echoes) { expect(e.senders.size).toBe(1); expect(e.upstream.active).toBe(1); }
  });

  it('setBalancer: new flows pick with the new balancer, live flows keep their upstream', async () => {
    const echoes = [await echo('a'), await echo('b'), await echo('c')];
    const { p, port } = await proxy({ upstreams: echoes.map((e) => e.upstream) });
    const live = await client();
    const kept = upstreamName(await live.ask(port, 'first'));
    // A balancer that always takes the last upstream (as a label change to another algorithm would).
    const last: Balancer = { pick: (ups) => ups[ups.length - 1] };
    p.setBalancer(last);
    const fresh = [await client(), await client(), await client()];
    for (const c of fresh) expect(upstreamName(await c.ask(port, 'new'))).toBe('c');
    expect(upstreamName(await live.ask(port, 'again'))).toBe(kept);
  });

  it('removing an upstream closes its flows and sends new flows elsewhere', async () => {
    const echoes = [await echo('a'), await echo('b'), await echo('c')];
    const { p, port } = await proxy({ upstreams: echoes.map((e) => e.upstream) });
    const c1 = await client();
    const was = upstreamName(await c1.ask(port, 'x'));
    const removed = echoes.find((e) => e.name === was)!;
    const kept = echoes.filter((e) => e !== removed);
    p.setUpstreams(kept.map((e) => e.upstream));
    expect(p.flows).toBe(0);
    expect(removed.upstream.active).toBe(0);
    const moved = upstreamName(await c1.ask(port, 'y'));
    expect(moved).not.toBe(was);
    const received = removed.received;
    for (let i = 0; i < 6; i++) expect(upstreamName(await (await client()).ask(port, 'new'))).not.toBe(was);
    expect(removed.received).toBe(received);
  });

  it('keeps flows to upstreams that stay, even as new objects with the same key', async () => {
    const a = await echo('a');
    const b = await echo('b');
    const { p, port } = await proxy({ upstreams: [a.upstream, b.upstream] });
    const c = await client();
    const was = upstreamName(await c.ask(port, 'x'));
    const fresh = [{ ...a.upstream, active: 0 }, { ...b.upstream, active: 0 }];
    p.setUpstreams(fresh);
    expect(p.flows).toBe(1);
    expect(upstreamName(await c.ask(port, 'y'))).toBe(was);
    expect(fresh.map((u) => u.active).sort()).toEqual([0, 1]);
    expect(a.upstream.active + b.upstream.active).toBe(0);
  });

  it('leaves active alone with trackActive: false', async () => {
    const a = await echo('a');
    const { p, port } = await proxy({ upstreams: [a.upstream], trackActive: false });
    expect(await (await client()).ask(port, 'x')).toBe('a|x');
    expect(p.flows).toBe(1);
    expect(a.upstream.active).toBe(0);
    p.setUpstreams([]);
    expect(p.flows).toBe(0);
    expect(a.upstream.active).toBe(0);
  });

  it('expires idle flows with one sweeping timer', async () => {
    const a = await echo('a');
    const stats: { flows: number; dropped: number }[] = [];
    const { p, port } = await proxy({ upstreams: [a.upstream], idleTimeoutMs: 100, onStats: (s) => stats.push(s) });
    const c = await client();
    await c.ask(port, 'x');
    expect(p.flows).toBe(1);
    await waitUntil(() => p.flows === 0, 5000, 'the flow to expire');
    expect(a.upstream.active).toBe(0);
    await waitUntil(() => stats.at(-1)?.flows === 0, 5000, 'stats after expiry');
    expect(stats.some((s) => s.flows === 1)).toBe(true);
    // The next datagram opens a new flow (a new upstream socket).
    expect(await c.ask(port, 'again')).toBe('a|again');
    expect(a.senders.size).toBe(2);
  });

  it('drops and counts datagrams when there is no upstream', async () => {
    const stats: { flows: number; dropped: number }[] = [];
    const { p, port } = await proxy({ idleTimeoutMs: 40, onStats: (s) => stats.push(s) });
    const c = await client();
    c.socket.send('lost', port, '127.0.0.1');
    c.socket.send('lost', port, '127.0.0.1');
    await waitUntil(() => p.dropped === 2, 3000, 'two drops');
    expect(p.flows).toBe(0);
    expect(c.inbox).toEqual([]);
    await waitUntil(() => stats.at(-1)?.dropped === 2, 3000, 'drops reported');
    // Upstreams arriving later are used at once.
    const a = await echo('a');
    p.setUpstreams([a.upstream]);
    expect(await c.ask(port, 'found')).toBe('a|found');
  });

  it('drops new flows beyond maxFlows', async () => {
    const a = await echo('a');
    const { p, port } = await proxy({ upstreams: [a.upstream], maxFlows: 1 });
    const c1 = await client();
    const c2 = await client();
    await c1.ask(port, 'first');
    c2.socket.send('second', port, '127.0.0.1');
    await waitUntil(() => p.dropped === 1, 3000, 'the drop');
    expect(p.flows).toBe(1);
    expect(await c1.ask(port, 'still')).toBe('a|still');
    expect(c2.inbox).toEqual([]);
  });

  it('ends a flow whose upstream refuses, and the next datagram is balanced again', async () => {
    // A port nobody listens on: bind one, note it, close it.
    const dead = await bindSocket('udp4', '127.0.0.1');
    const deadPort = dead.address().port;
    await closeSocket(dead);
    const gone: Upstream = { key: `gone@127.0.0.1:${deadPort}`, address: '127.0.0.1', port: deadPort, active: 0 };
    const a = await echo('a');
    const roundrobin = createBalancer('roundrobin');
    const picks: string[] = [];
    const balancer: Balancer = {
      pick: (ups, ctx, ex) => { const u = roundrobin.pick(ups, ctx, ex); if (u) picks.push(u.key); return u; },
    };
    const { p, port } = await proxy({ upstreams: [gone, a.upstream], balancer });
    const c = await client();
    c.socket.send('into the void', port, '127.0.0.1');
    // ICMP port unreachable makes the connected socket fail; the flow is closed.
    await waitUntil(() => picks.length === 1 && p.flows === 0 && gone.active === 0, 3000, 'the refused flow to close');
    expect(picks).toEqual([gone.key]);
    expect(await c.ask(port, 'retry')).toBe('a|retry');
    expect(picks).toEqual([gone.key, a.upstream.key]);
  });

  it.skipIf(!hasIPv6)('forwards to IPv6 upstreams and listens on IPv6', async () => {
    const a = await echo('a6', '::1');
    const { port } = await proxy({ bind: '::1', upstreams: [a.upstream] });
    const c = await client('::1');
    expect(await c.ask(port, 'six', '::1')).toBe('a6|six');
  });

  it('rejects listen() with the bind error, and close() frees the port', async () => {
    const taken = await bindSocket('udp4', '127.0.0.1');
    const takenPort = taken.address().port;
    const clash = new UdpProxy({ bind: '127.0.0.1', port: takenPort, balancer: createBalancer('roundrobin') });
    await expect(clash.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await clash.close();

    const a = await echo('a');
    const p = new UdpProxy({ bind: '127.0.0.1', port: 0, balancer: createBalancer('roundrobin') });
    p.setUpstreams([a.upstream]);
    await p.listen();
    const port = p.address().port;
    const c = await client();
    await c.ask(port, 'x');
    await p.close();
    expect(p.flows).toBe(0);
    expect(a.upstream.active).toBe(0);
    await p.close(); // idempotent
    const again = await bindSocket('udp4', '127.0.0.1', port);
    expect(again.address().port).toBe(port);
  });
});

describe('UdpProxy limits (security review)', () => {
  /** Send once and wait for `dropped` to move past `before`, deadline-bound. */
  async function dropped(p: UdpProxy, c: Client, port: number, before: number): Promise<void> {
    c.socket.send('x', port, '127.0.0.1');
    await waitUntil(() => p.dropped > before, 3000, 'the datagram to be dropped');
  }

  it('drops and counts a datagram from source port 0, and nothing reaches the process hooks', async () => {
    const seen: unknown[] = [];
    const hook = (reason: unknown): void => void seen.push(reason);
    process.on('unhandledRejection', hook);
    process.on('uncaughtException', hook);
    closers.push(async () => {
      process.off('unhandledRejection', hook);
      process.off('uncaughtException', hook);
    });
    const a = await echo('a');
    const stats: { flows: number; dropped: number }[] = [];
    const { p, port } = await proxy({ upstreams: [a.upstream], onStats: (s) => stats.push(s) });
    expect(() => p.handleDatagram(Buffer.from('spoofed'), { address: '127.0.0.1', family: 'IPv4', port: 0, size: 7 })).not.toThrow();
    expect(p.dropped).toBe(1);
    expect(p.flows).toBe(0);
    expect(a.received).toBe(0);
    // Still serving real clients.
    expect(await (await client()).ask(port, 'hi')).toBe('a|hi');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
  });

  it('caps flows per client IP address; other addresses still get through', async () => {
    const a = await echo('a');
    const { p, port } = await proxy({ upstreams: [a.upstream], maxFlowsPerClient: 2 });
    const c1 = await client();
    const c2 = await client();
    const c3 = await client();
    expect(await c1.ask(port, '1')).toBe('a|1');
    expect(await c2.ask(port, '2')).toBe('a|2');
    await dropped(p, c3, port, p.dropped);
    expect(p.flows).toBe(2);
    const other = await client('127.0.0.2');
    expect(await other.ask(port, 'o')).toBe('a|o');
    expect(p.flows).toBe(3);
  });

  it('caps flows across every UdpProxy of the process', async () => {
    const saved = UdpProxy.maxProcessFlows;
    closers.push(async () => { UdpProxy.maxProcessFlows = saved; });
    const a = await echo('a');
    const one = await proxy({ upstreams: [a.upstream] });
    const two = await proxy({ upstreams: [a.upstream] });
    UdpProxy.maxProcessFlows = UdpProxy.processFlows + 2;
    expect(await (await client()).ask(one.port, '1')).toBe('a|1');
    expect(await (await client()).ask(two.port, '2')).toBe('a|2');
    await dropped(two.p, await client(), two.port, two.p.dropped);
    await dropped(one.p, await client(), one.port, one.p.dropped);
    // A flow that ends frees its place in the process-wide count.
    const before = UdpProxy.processFlows;
    await one.p.close();
    expect(UdpProxy.processFlows).toBe(before - 1);
    expect(await (await client()).ask(two.port, '3')).toBe('a|3');
  });
});
