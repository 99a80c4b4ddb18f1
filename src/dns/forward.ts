/**
 * Forwarding of names outside the zone (reference §3): the resolvers of `--dns-resolvers` are tried
 * in order, each for at most `timeoutMs` (2 s), over the transport the client used; the first reply
 * is passed through unchanged (the caller re-truncates it for UDP). All failing means SERVFAIL for
 * the client. A fresh socket per forwarded query keeps replies from being confused across queries.
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { isIP } from 'node:net';
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

  /** The first upstream reply, or undefined when every resolver failed (or too many are in flight). */
  async forward(query: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    if (this.#inFlight >= MAX_IN_FLIGHT || this.#closed || query.length < 12) return undefined;
    this.#inFlight++;
    try {
      for (const resolver of this.#resolvers) {
        if (this.#closed) return undefined;
        try {
          const reply = await (tcp ? this.#tcp(query, resolver) : this.#udp(query, resolver));
          this.#onAttempt('ok');
          return reply;
        } catch (error) {
          this.#onAttempt(error instanceof TimeoutError ? 'timeout' : 'error');
        }
      }
      return undefined;
    } finally {
      this.#inFlight--;
    }
  }

  #udp(query: Buffer, resolver: Resolver): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket: Socket = createSocket(isIP(resolver.host) === 6 ? 'udp6' : 'udp4');
      const id = query.readUInt16BE(0);
      const handle = { close: () => finish(new Error('closed')) };
      const timer = setTimeout(() => finish(new TimeoutError()), this.#timeoutMs);
      let done = false;
      const finish = (error: Error | undefined, reply?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#open.delete(handle);
        socket.close();
        if (error) reject(error);
        else resolve(reply!);
      };
      this.#open.add(handle);
      socket.on('error', (error) => finish(error));
      socket.on('message', (msg, rinfo) => {
        // Only the resolver's reply to this query id counts; anything else is ignored.
        if (rinfo.port !== resolver.port || rinfo.address !== resolver.host || msg.length < 12 || msg.readUInt16BE(0) !== id || (msg[2]! & 0x80) === 0) return;
        finish(undefined, msg);
      });
      socket.send(query, resolver.port, resolver.host, (error) => {
        if (error) finish(error);
      });
    });
  }

  #tcp(query: Buffer, resolver: Resolver): Promise<Buffer> {
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
        if (buffered.length >= 2 + length) finish(undefined, Buffer.from(buffered.subarray(2, 2 + length)));
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

class TimeoutError extends Error {
  constructor() {
    super('timed out');
  }
}
