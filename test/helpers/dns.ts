/** DNS test helpers: free ports, raw queries, `dig`, raw UDP/TCP exchanges and a tiny upstream resolver. */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dns2 from 'dns2';
import type { Packet } from 'dns2';

import { freePort } from './ports.ts';

export { freePort };

export interface QueryOptions {
  readonly id?: number;
  /** EDNS UDP size; undefined = no OPT. */
  readonly edns?: number;
  readonly ednsVersion?: number;
  readonly rd?: boolean;
  readonly qclass?: number;
  readonly opcode?: number;
}

/** A query in wire format (the name is written as given: case kept). */
export function query(name: string, qtype: number, options: QueryOptions = {}): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? 0x1234, 0);
  header.writeUInt16BE(((options.opcode ?? 0) << 11) | (options.rd === false ? 0 : 0x0100), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(options.edns === undefined ? 0 : 1, 10);
  parts.push(header);
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(options.qclass ?? 1, 3);
  parts.push(tail);
  if (options.edns !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(options.edns, 3);
    opt[6] = options.ednsVersion ?? 0;
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export function parse(reply: Buffer): Packet {
  return dns2.Packet.parse(reply);
}

/** Send one UDP packet and wait for one reply (undefined after `timeoutMs`). */
export function udpExchange(port: number, packet: Buffer, timeoutMs = 2_000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    socket.on('message', (msg) => done(msg));
    socket.on('error', () => done(undefined));
    socket.send(packet, port, '127.0.0.1');
  });
}

/** A two-byte length prefix and the message (DNS over TCP); `length` may lie, for hostile input. */
export function frame(message: Buffer, length = message.length): Buffer {
  const out = Buffer.alloc(2 + message.length);
  out.writeUInt16BE(length & 0xffff, 0);
  message.copy(out, 2);
  return out;
}

/** The complete length-prefixed messages at the start of `buffered`, and the bytes after them (a message not yet whole). */
export function splitFrames<T extends ArrayBufferLike>(buffered: Buffer<T>): { messages: Buffer<T>[]; rest: Buffer<T> } {
  const messages: Buffer<T>[] = [];
  let rest = buffered;
  while (rest.length >= 2 && rest.length >= 2 + rest.readUInt16BE(0)) {
    messages.push(rest.subarray(2, 2 + rest.readUInt16BE(0)));
    rest = rest.subarray(2 + rest.readUInt16BE(0));
  }
  return { messages, rest };
}

/** Send one length-prefixed message over a fresh TCP connection and read one reply. */
export function tcpExchange(port: number, packet: Buffer, timeoutMs = 2_000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    socket.on('error', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const { messages } = splitFrames(buffered);
      if (messages.length > 0) done(messages[0]);
    });
    socket.write(frame(packet));
  });
}

/** Run `dig @127.0.0.1 -p PORT …` and return its output. */
export function dig(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error && !stdout) reject(new Error(`dig ${args.join(' ')}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `dig +short`, lines sorted. */
export async function digShort(port: number, args: readonly string[]): Promise<string[]> {
  const out = await dig(port, [...args, '+short']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith(';'))
    .sort();
}

/** The `status:` of a dig answer (NOERROR, NXDOMAIN, …). */
export function digStatus(output: string): string | undefined {
  return /status: (\w+)/.exec(output)?.[1];
}

/** The flags line of a dig answer, e.g. ['qr', 'aa', 'rd']. */
export function digFlags(output: string): string[] {
  return (/;; flags: ([^;]*);/.exec(output)?.[1] ?? '').trim().split(/\s+/);
}

/** Lines of one section (`ANSWER`, `AUTHORITY`, `ADDITIONAL`) of a dig answer. */
export function digSection(output: string, section: string): string[] {
  const start = output.indexOf(`;; ${section} SECTION:`);
  if (start < 0) return [];
  const lines = output.slice(start).split('\n').slice(1);
  const out: string[] = [];
  for (const l of lines) {
    if (l.trim() === '') break;
    out.push(l.replace(/\s+/g, ' ').trim());
  }
  return out;
}

export interface Upstream {
  readonly port: number;
  readonly queries: string[];
  close(): Promise<void>;
}

/** A tiny upstream resolver on loopback (dns2) that answers every A query with `ip`. */
export async function startUpstream(ip: string): Promise<Upstream> {
  const port = await freePort();
  const queries: string[] = [];
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    handle: (request, send) => {
      const response = dns2.Packet.createResponseFromRequest(request);
      const question = request.questions[0];
      if (question) {
        queries.push(question.name);
        response.answers.push(Object.assign(new dns2.Packet.Resource(question.name, dns2.Packet.TYPE.A, dns2.Packet.CLASS.IN, 30), { address: ip }));
      }
      send(response);
    },
  });
  await server.listen({ udp: { port, address: '127.0.0.1' }, tcp: { port, address: '127.0.0.1' } });
  return { port, queries, close: () => server.close() };
}
