// The /v2/events hub: EOF-delimited SSE streams with Jetty's framing, keep-alives and slow-consumer cut-off.
import type { ServerResponse } from 'node:http';
import { sseFrame, streamAttachedEvent, streamDetachedEvent } from './events.ts';
import type { JsonObject } from './types.ts';

export interface SseHubOptions {
  keepAliveMs: number;
  maxOutstanding: number;
  /** True while a `silence` fault holds: nothing is written to streams. */
  isSilenced: () => boolean;
}

interface Stream {
  res: ServerResponse;
  nodeId: string;
  filter: ReadonlySet<string> | undefined;
  remoteAddress: string;
  outstanding: number;
  timer: NodeJS.Timeout;
  closed: boolean;
}

export class SseHub {
  readonly #streams = new Set<Stream>();
  readonly #opts: SseHubOptions;
  #closedForSlowness = 0;

  constructor(opts: SseHubOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Streams closed because they had more than maxOutstanding unwritten events. */
  get slowConsumerDisconnects(): number {
    return this.#closedForSlowness;
  }

  /** Starts a stream on `res` (the caller already checked Accept). */
  attach(res: ServerResponse, nodeId: string, filter: ReadonlySet<string> | undefined, remoteAddress: string, headers: Record<string, string>): void {
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream;charset=utf-8',
      'Connection': 'close',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      'Pragma': 'no-cache',
      'Expires': '0',
      ...headers,
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    const stream: Stream = {
      res, nodeId, filter, remoteAddress, outstanding: 0, closed: false,
      timer: setInterval(() => this.#keepAlive(stream), this.#opts.keepAliveMs),
    };
    stream.timer.unref();
    this.#streams.add(stream);
    res.on('close', () => {
      if (stream.closed) return;
      this.#drop(stream);
      this.publish(streamDetachedEvent(remoteAddress));
    });
    this.publish(streamAttachedEvent(remoteAddress));
  }

  publish(event: JsonObject): void {
    if (this.#streams.size === 0) return;
    const type = typeof event['eventType'] === 'string' ? event['eventType'] : 'unknown';
    const frame = sseFrame(type, JSON.stringify(event));
    for (const s of [...this.#streams]) {
      if (s.filter !== undefined && !s.filter.has(type)) continue;
      this.#write(s, frame);
    }
  }

  /** Writes text verbatim to every open stream (malformed-event tests). */
  writeRaw(text: string): number {
    let n = 0;
    for (const s of [...this.#streams]) {
      this.#write(s, text);
      n++;
    }
    return n;
  }

  /** Ends streams (EOF): all, or only those served by `nodeId`. Returns how many. */
  closeAll(nodeId?: string): number {
    let n = 0;
    for (const s of [...this.#streams]) {
      if (nodeId !== undefined && s.nodeId !== nodeId) continue;
      n++;
      this.#drop(s);
      s.res.end();
      s.res.socket?.end();
    }
    return n;
  }

  /** Largest number of unwritten events any stream holds. */
  maxPending(): number {
    let m = 0;
    for (const s of this.#streams) m = Math.max(m, s.outstanding);
    return m;
  }

  destroyAll(): void {
    for (const s of [...this.#streams]) {
      this.#drop(s);
      s.res.socket?.destroy();
    }
  }

  #write(s: Stream, data: string): void {
    if (s.closed || this.#opts.isSilenced()) return;
    s.outstanding++;
    s.res.write(data, () => { s.outstanding--; });
    if (s.outstanding > this.#opts.maxOutstanding) {
      this.#closedForSlowness++;
      this.#drop(s);
      s.res.socket?.destroy();
      this.publish(streamDetachedEvent(s.remoteAddress));
    }
  }

  #keepAlive(s: Stream): void {
    if (s.closed || this.#opts.isSilenced()) return;
    s.res.write('\r');
    s.res.write('\n');
  }

  #drop(s: Stream): void {
    s.closed = true;
    clearInterval(s.timer);
    this.#streams.delete(s);
  }
}
