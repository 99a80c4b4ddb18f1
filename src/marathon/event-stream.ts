/**
 * Marathon's event stream (`GET /v2/events`, Server-Sent Events) through the `eventsource` package,
 * with pacer's own connection policy around it:
 *
 * - `Accept: text/event-stream` exactly (Marathon answers 405 to anything else) and the server-side
 *   `event_type` filter, so Marathon sends only the events pacer acts on;
 * - redirects (a standby's 302 to the leader) followed by hand with the credentials kept;
 * - a watchdog: Marathon writes a keep-alive every 10 s, so a stream with no byte for
 *   `idleTimeoutMs` (30 s) is dead, however healthy its TCP connection looks;
 * - reconnection with jittered exponential backoff, rotating over the Marathon instances, instead
 *   of eventsource's fixed delay; every successful (re)connect is reported so the caller resyncs.
 */
import { EventSource, type FetchLike, type FetchLikeResponse, type ReaderLike } from 'eventsource';
import { Agent, request } from 'undici';
import type { Readable } from 'node:stream';
import { PacerError } from '../errors.ts';
import { SUBSCRIBED_EVENT_TYPES } from '../model/events.ts';
import { followRedirect, redactUrl } from './client.ts';

export interface EventStreamOptions {
  /** Marathon instances, in the order to try (the client's preferred one first). */
  readonly urls: () => readonly string[];
  readonly authorization: string | undefined;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly onOpen: (url: string) => void;
  readonly onEvent: (type: string, data: string) => void;
  /** The stream ended or failed; a reconnect is scheduled after `retryInMs`. */
  readonly onClose: (reason: string, retryInMs: number) => void;
  /** Any byte arrived (events and keep-alives). */
  readonly onActivity?: () => void;
}

/**
 * A stream that stayed open this long (or delivered an event) worked: the reconnect backoff starts
 * over. A leader that is elected but not ready answers 200 and closes at once.
 */
const STABLE_STREAM_MS = 2_000;

/**
 * Longest event (or unterminated line) buffered before the stream is dropped and reconnected, in
 * characters. eventsource's default is 100 MB per stream; Marathon's largest events (an
 * `api_post_event` carrying an app definition, a `deployment_info` plan) stay far below this.
 */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export function eventsPath(): string {
  return `/v2/events?${SUBSCRIBED_EVENT_TYPES.map((t) => `event_type=${t}`).join('&')}`;
}

/** Full jitter: a random delay in [base/2, base], base doubling per failure up to the cap. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

export class EventStream {
  readonly #options: EventStreamOptions;
  readonly #dispatcher: Agent;
  #source: EventSource | undefined;
  /** Connection attempts that failed in a row (reset by a successful open). */
  #failures = 0;
  /** Streams in a row that opened but closed soon without an event (a leader that is not ready). */
  #flaps = 0;
  #rotation = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last byte (monotonic, for the watchdog). */
  #lastByteAt = 0;
  /** performance.now() when the current stream opened. */
  #openedAt = 0;
  /** Whether the current stream delivered an event. */
  #delivered = false;
  #connected = false;
  #stopped = true;
  /** The instance the current stream came from (after redirects). */
  #url = '';

  constructor(options: EventStreamOptions) {
    this.#options = options;
    this.#dispatcher = new Agent({ connect: { timeout: options.connectTimeoutMs }, headersTimeout: options.connectTimeoutMs, bodyTimeout: 0 });
  }

  get connected(): boolean {
    return this.#connected;
  }

  get url(): string {
    return this.#url;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#idleTimer);
    this.#source?.close();
    this.#source = undefined;
    this.#connected = false;
    await this.#dispatcher.close().catch(() => undefined);
  }

  /** Drop the current stream and reconnect at once (used when the caller knows it is stale). */
  restart(reason: string): void {
    if (this.#stopped) return;
    this.#fail(reason, 0);
  }

  #connect(): void {
    const urls = this.#options.urls();
    const base = urls[this.#rotation % urls.length] ?? urls[0];
    if (!base) return;
    const url = `${base}${eventsPath()}`;
    const source = new EventSource(url, { fetch: this.#fetch, maxBufferSize: MAX_EVENT_CHARS });
    this.#source = source;
    this.#lastByteAt = performance.now();
    source.onopen = () => {
      if (this.#source !== source) return;
      this.#connected = true;
      this.#failures = 0;
      this.#delivered = false;
      this.#openedAt = performance.now();
      this.#options.onOpen(this.#url);
    };
    source.onerror = (event) => {
      if (this.#source !== source) return;
      const status = event.code ? `HTTP ${event.code}` : (event.message ?? 'stream error');
      this.#fail(status);
    };
    const onMessage = (event: { readonly type: string; readonly data: string }) => {
      if (this.#source !== source) return;
      this.#delivered = true;
      try {
        this.#options.onEvent(event.type, event.data);
      } catch (error) {
        // A throw out of an EventTarget listener becomes an uncaught exception: the process would
        // die on one bad event. Start over instead: the reconnect is followed by a full resync.
        this.#fail(`event handler failed: ${String(error).slice(0, 200)}`);
      }
    };
    for (const type of SUBSCRIBED_EVENT_TYPES) source.addEventListener(type, onMessage);
    source.addEventListener('message', onMessage);
    clearInterval(this.#idleTimer);
    const check = Math.max(50, Math.min(1000, Math.floor(this.#options.idleTimeoutMs / 4)));
    this.#idleTimer = setInterval(() => {
      if (this.#source === source && performance.now() - this.#lastByteAt > this.#options.idleTimeoutMs) {
        this.#fail(`no byte for ${this.#options.idleTimeoutMs} ms`);
      }
    }, check);
    this.#idleTimer.unref();
  }

  #fail(reason: string, delayMs?: number): void {
    this.#source?.close();
    this.#source = undefined;
    // Backoff counts failed connects and streams that flapped (opened, then closed soon without
    // an event: a leader that is elected but not ready does that). A stream that worked (held
    // a while, or delivered an event) starts the count over.
    if (this.#connected) {
      if (this.#delivered || performance.now() - this.#openedAt >= STABLE_STREAM_MS) this.#flaps = 0;
      else this.#flaps++;
    } else this.#failures++;
    this.#connected = false;
    clearInterval(this.#idleTimer);
    if (this.#stopped) return;
    const backoff = this.#options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const delay = delayMs ?? backoffDelay(Math.max(0, this.#failures + this.#flaps - 1), backoff.initialMs, backoff.maxMs);
    this.#rotation++;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    this.#options.onClose(reason, delay);
  }

  /** The fetch eventsource uses: undici with timeouts, manual redirects, credentials and a byte watchdog. */
  readonly #fetch: FetchLike = async (input, init) => {
    let target = String(input);
    for (let hop = 0; hop <= 5; hop++) {
      const headers: Record<string, string> = { accept: init.headers.Accept, 'user-agent': 'pacer', 'cache-control': 'no-cache' };
      if (this.#options.authorization) headers['authorization'] = this.#options.authorization;
      const response = await request(target, {
        method: 'GET',
        headers,
        signal: init.signal as AbortSignal,
        dispatcher: this.#dispatcher,
      });
      const location = response.headers['location'];
      if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
        await response.body.dump();
        target = followRedirect(target, location);
        continue;
      }
      this.#url = new URL(target).origin;
      if (response.statusCode !== 200) {
        // eventsource fails the connection on a non-200; the body is of no use.
        response.body.resume();
      }
      return this.#wrap(response.statusCode, target, hop > 0, response.headers, response.body);
    }
    throw new PacerError('PACER_ERR_MARATHON_REDIRECTS', `${redactUrl(String(input))}: too many redirects`);
  };

  #wrap(status: number, url: string, redirected: boolean, headers: Record<string, string | string[] | undefined>, body: Readable): FetchLikeResponse {
    const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const touch = () => {
      this.#lastByteAt = performance.now();
      this.#options.onActivity?.();
    };
    const reader: ReaderLike = {
      async read() {
        const next = await iterator.next();
        if (next.done) return { done: true, value: undefined };
        touch();
        return { done: false, value: next.value };
      },
      async cancel() {
        body.destroy();
      },
    };
    return {
      status,
      url,
      redirected,
      headers: {
        get(name: string) {
          const v = headers[name.toLowerCase()];
          return Array.isArray(v) ? v.join(', ') : (v ?? null);
        },
      },
      body: { getReader: () => reader },
    };
  }
}
