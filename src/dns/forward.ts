/**
 * Forwarding of names outside the zone (reference §3): the resolvers of `--dns-resolvers` are tried
 * in order, each for at most `timeoutMs` (2 s), over the transport the client used; the first reply
 * is passed through unchanged (the caller re-truncates it for UDP). All failing means SERVFAIL for
 * the client. A fresh socket per forwarded query keeps replies from being confused across queries.
 *
 * Spoofed replies (RFC 5452): each attempt goes out with an id of pacer's own (random, not the
 * client's), and a reply counts only when it comes from the resolver's canonical address and port,
 * carries that id and echoes the question; the client's id is written back into the reply. TCP
 * replies are checked the same way.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { connect, isIP, SocketAddress } from 'node:net';
import type { Resolver } from '../config/options.ts';

export const FORWARD_TIMEOUT_MS = 2_000;
/** Forwarded queries in flight at once; beyond this the client gets SERVFAIL at once. */
export const MAX_IN_FLIGHT = 1_024;

export type ForwardResult = 'ok' | 'timeout' | 'error';

export interface ForwarderOptions {
  readonly resolvers: readonly Resolver[];
  readonly timeoutMs?: number;
  /** One call per attempt on a resolver. */
  readonly onAttempt?: (result: ForwardResult) => void;
}

export class Forwarder {
  readonly #resolvers: readonly Resolver[];
  readonly #timeoutMs: number;
  readonly #onAttempt: (result: ForwardResult) => void;
  readonly #open = new Set<{ close(): void }>();
  #inFlight = 0;
  #closed = false;

  constructor(options: ForwarderOptions) {
    this.#resolvers = options.resolvers;
    this.#timeoutMs = options.timeoutMs ?? FORWARD_TIMEOUT_MS;
    this.#onAttempt = options.onAttempt ?? (() => {});
  }

  get enabled(): boolean {
    return this.#resolvers.length > 0;
  }

  /**
   * The first upstream reply (with the client's id), or undefined when every resolver failed (or
   * too many are in flight, or the query has no question to check replies against: `questionEnd`,
   * where the decoded query's question section ends, < 0). Never rejects. `query` is the caller's
   * own copy: each attempt writes its id into it, and the client's id is put back at the end.
   */
  async forward(query: Buffer, tcp: boolean, questionEnd: number): Promise<Buffer | undefined> {
    if (this.#inFlight >= MAX_IN_FLIGHT || this.#closed || query.length < 12 || questionEnd < 0) return undefined;
    const clientId = query.readUInt16BE(0);
    this.#inFlight++;
    try {
      for (const resolver of this.#resolvers) {
        if (this.#closed) return undefined;
        try {
          // A fresh id of our own per attempt: a spoofer has to guess it (and the socket's port).
          const id = randomInt(0, 0x10000);
          query.writeUInt16BE(id, 0);
          const accept = (msg: Buffer): boolean => msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2]! & 0x80) !== 0 && sameQuestion(query, msg, questionEnd);
          const upstream = await (tcp ? this.#tcp(query, resolver, accept) : this.#udp(query, resolver, accept));
          const reply = Buffer.from(upstream);
          reply.writeUInt16BE(clientId, 0);
          this.#onAttempt('ok');
          return reply;
        } catch (error) {
          this.#onAttempt(error instanceof TimeoutError ? 'timeout' : 'error');
        }
      }
      return undefined;
    } finally {
      query.writeUInt16BE(clientId, 0);
      this.#inFlight--;
    }
  }

  #udp(query: Buffer, resolver: Resolver, accept: (msg: Buffer) => boolean): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket: Socket = createSocket(isIP(resolver.host) === 6 ? 'udp6' : 'udp4');
      const host = canonicalAddress(resolver.host);
      const handle = { close: () => finish(new Error('closed')) };
      const timer = setTimeout(() => finish(new TimeoutError()), this.#timeoutMs);
      let done = false;
      const finish = (error: Error | undefined, reply?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#open.delete(handle);
        try {
          socket.close();
        } catch {
          // Already closed.
        }
        if (error) reject(error);
        else resolve(reply!);
      };
      this.#open.add(handle);
      socket.on('error', (error) => finish(error));
      socket.on('message', (msg, rinfo) => {
        // Only the resolver's reply to this query (our id, the same question) counts; anything else is ignored.
        if (rinfo.port !== resolver.port || canonicalAddress(rinfo.address) !== host || !accept(msg)) return;
        finish(undefined, msg);
      });
      try {
        socket.send(query, resolver.port, resolver.host, (error) => {
          if (error) finish(error);
        });
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  #tcp(query: Buffer, resolver: Resolver, accept: (msg: Buffer) => boolean): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: resolver.host, port: resolver.port });
      const handle = { close: () => finish(new Error('closed')) };
      const timer = setTimeout(() => finish(new TimeoutError()), this.#timeoutMs);
      let done = false;
      let buffered: Buffer = Buffer.alloc(0);
      const finish = (error: Error | undefined, reply?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#open.delete(handle);
        socket.destroy();
        if (error) reject(error);
        else resolve(reply!);
      };
      this.#open.add(handle);
      socket.on('error', (error) => finish(error));
      socket.on('close', () => finish(new Error('connection closed before a reply')));
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        if (buffered.length < 2) return;
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const reply = Buffer.from(buffered.subarray(2, 2 + length));
        finish(accept(reply) ? undefined : new Error('reply does not match the query'), reply);
      });
      const frame = Buffer.allocUnsafe(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      query.copy(frame, 2);
      socket.write(frame);
    });
  }

  /** Abandon every forward in flight. */
  close(): void {
    this.#closed = true;
    for (const handle of [...this.#open]) handle.close();
  }
}

/** An IP literal in one spelling (`2001:DB8:0::1` → `2001:db8::1`); anything else as given. */
export function canonicalAddress(address: string): string {
  const family = isIP(address);
  if (family === 0) return address;
  try {
    return new SocketAddress({ address, family: family === 6 ? 'ipv6' : 'ipv4' }).address;
  } catch {
    return address;
  }
}

/** Whether a reply echoes the query's question section (same count; names compared ASCII case-insensitively). */
export function sameQuestion(query: Buffer, reply: Buffer, questionEnd: number): boolean {
  if (reply.length < questionEnd || reply.readUInt16BE(4) !== query.readUInt16BE(4)) return false;
  for (let i = 12; i < questionEnd; i++) {
    let a = query[i]!;
    let b = reply[i]!;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}

class TimeoutError extends Error {
  constructor() {
    super('timed out');
  }
}
