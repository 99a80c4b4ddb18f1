/**
 * Marathon's REST API, as pacer uses it: a few GETs against one of several Marathon instances.
 *
 * - Instances are tried in turn, starting with the last one that answered (marathon-lb's rotation),
 *   so a dead first host costs one timeout once, not on every request (marathon-lb #535).
 * - Redirects are followed by hand (standbys answer /v2/events with a 302 to the leader); the
 *   credentials go along, since one Marathon cluster shares them.
 * - Every request has a connect and a read timeout: a hung Marathon is a failed request, never a
 *   hung pacer.
 * - The credentials live in this object only, as a prepared header; nothing here logs them.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { PacerError } from '../errors.ts';
import { AppListSplitter, AppListSyntaxError } from './app-list-splitter.ts';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface MarathonClientOptions {
  readonly urls: readonly string[];
  readonly credentials?: Credentials | undefined;
  /** Connect and read timeout, in milliseconds. */
  readonly timeoutMs: number;
  /** Called for every failed attempt (for metrics), with a short bounded reason. */
  readonly onError?: (reason: FailureReason, url: string, error: Error) => void;
  /**
   * Largest response body read, in bytes: `GET /v2/apps` may be this large, every other request a
   * sixteenth of it. A longer body (a broken proxy streaming garbage) fails the request instead of
   * growing pacer's memory. Default 256 MiB (a 10,000-app cluster answers about 50 MB).
   */
  readonly maxBodyBytes?: number;
}

export type FailureReason = 'timeout' | 'connect' | 'status' | 'json' | 'auth' | 'redirects';

export const APPS_PATH = '/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.readiness';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

/** Read `user:password` from a credentials file (marathon-lb's format). */
export function readCredentialsFile(path: string): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PacerError('PACER_ERR_CREDENTIALS_FILE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  // Only the line break goes: spaces may be part of a password.
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  const colon = line.indexOf(':');
  if (colon <= 0) throw new PacerError('PACER_ERR_CREDENTIALS_FILE', `${path} must hold user:password on its first line`);
  return { user: line.slice(0, colon), password: line.slice(colon + 1) };
}

export function basicAuthHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
}

/** A Marathon response that was read to the end. */
export interface JsonResponse {
  readonly status: number;
  readonly json: unknown;
  /** The instance that answered (after redirects). */
  readonly url: string;
}

/** Takes the apps of one `GET /v2/apps` answer as they arrive (`add`), then says what they came to (`result`). */
export interface AppListSink<T> {
  add(json: unknown): void;
  result(): T;
}

type ResponseBody = Dispatcher.ResponseData['body'];
/** Reads a 200 body into a value; throws a PacerError when the body is unusable (too long, not JSON). */
type BodyReader<T> = (body: ResponseBody, maxBytes: number) => Promise<T>;

export class MarathonClient {
  readonly #urls: readonly string[];
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;
  readonly #dispatcher: Agent;
  readonly #onError: MarathonClientOptions['onError'];
  readonly #maxBodyBytes: number;
  #preferred = 0;

  constructor(options: MarathonClientOptions) {
    if (options.urls.length === 0) throw new Error('at least one Marathon URL is needed');
    this.#urls = options.urls.map((u) => u.replace(/\/+$/, ''));
    this.#authorization = options.credentials ? basicAuthHeader(options.credentials) : undefined;
    this.#timeoutMs = options.timeoutMs;
    this.#onError = options.onError;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#dispatcher = new Agent({
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  /** The configured instances, the one that answered last first. */
  get urls(): readonly string[] {
    return [...this.#urls.slice(this.#preferred), ...this.#urls.slice(0, this.#preferred)];
  }

  /** The instance that answered last (as configured, before any redirect). */
  get current(): string {
    return this.#urls[this.#preferred] ?? '';
  }

  get authorization(): string | undefined {
    return this.#authorization;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * `GET /v2/apps` with the tasks embedded, streamed: each app goes to the sink as soon as its bytes
   * are in, so the whole document (about 55 MB at 10,000 apps × 10 tasks) is never held, as bytes,
   * text or parsed tree. Each attempt (another instance after a failure) gets a fresh sink from
   * `newSink`; the answer is the `result()` of the attempt that read a whole, well-formed list.
   * Marathon renders the whole document before it sends a byte, which takes seconds on a large
   * cluster: this one request may take six times the timeout (at least 30 s) to answer.
   */
  async fetchApps<T>(newSink: () => AppListSink<T>): Promise<T> {
    const read: BodyReader<T> = (body, maxBytes) => readAppList(body, maxBytes, newSink());
    const response = await this.#request(APPS_PATH, { readTimeoutMs: Math.max(30_000, this.#timeoutMs * 6), maxBodyBytes: this.#maxBodyBytes }, read);
    return response.value as T;
  }

  /** `GET /v2/apps/{id}`; undefined when Marathon says the app does not exist (404). */
  async fetchApp(appId: string): Promise<unknown> {
    const path = `/v2/apps/${appId.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
    const response = await this.getJson(path, { allow404: true });
    return response.status === 404 ? undefined : response.json;
  }

  /** `GET /v2/info`. */
  fetchInfo(): Promise<unknown> {
    return this.getJson('/v2/info').then((r) => r.json);
  }

  /**
   * GET a JSON document from the first instance that answers it. Network failures, timeouts, 5xx
   * and unreadable bodies move on to the next instance; a 401/403 fails at once (the same
   * credentials would fail everywhere).
   */
  async getJson(path: string, options: { allow404?: boolean } = {}): Promise<JsonResponse> {
    const response = await this.#request(path, options, readJson);
    return { status: response.status, json: response.value, url: response.url };
  }

  async #request<T>(
    path: string,
    options: { allow404?: boolean; readTimeoutMs?: number; maxBodyBytes?: number },
    read: BodyReader<T>,
  ): Promise<{ status: number; value: T | undefined; url: string }> {
    let lastError: Error | undefined;
    const n = this.#urls.length;
    for (let attempt = 0; attempt < n; attempt++) {
      const index = (this.#preferred + attempt) % n;
      const base = this.#urls[index] as string;
      try {
        const limit = options.maxBodyBytes ?? Math.ceil(this.#maxBodyBytes / 16);
        const response = await this.#get(`${base}${path}`, options.allow404 ?? false, options.readTimeoutMs ?? this.#timeoutMs, limit, read);
        this.#preferred = index;
        return response;
      } catch (error) {
        const err = error as Error;
        lastError = err;
        if (err instanceof PacerError && err.code === 'PACER_ERR_MARATHON_AUTH') throw err;
      }
    }
    throw new PacerError('PACER_ERR_MARATHON_UNAVAILABLE', `no Marathon instance answered ${path}: ${lastError?.message ?? 'unknown error'}`, {
      cause: lastError,
    });
  }

  async #get<T>(url: string, allow404: boolean, readTimeoutMs: number, maxBodyBytes: number, read: BodyReader<T>): Promise<{ status: number; value: T | undefined; url: string }> {
    let target = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(target, {
          method: 'GET',
          headers: this.#headers('application/json'),
          dispatcher: this.#dispatcher,
          headersTimeout: readTimeoutMs,
          bodyTimeout: readTimeoutMs,
        });
      } catch (error) {
        const err = error as Error & { code?: string };
        const reason: FailureReason = /timeout/i.test(err.code ?? err.name) ? 'timeout' : 'connect';
        this.#onError?.(reason, target, err);
        throw new PacerError('PACER_ERR_MARATHON_UNAVAILABLE', `${redactUrl(target)}: ${err.code ?? err.message}`, { cause: err });
      }
      const { statusCode, headers, body } = response;
      const location = headers['location'];
      if (REDIRECT_STATUSES.has(statusCode) && typeof location === 'string') {
        await body.dump();
        try {
          target = followRedirect(target, location);
        } catch (error) {
          this.#onError?.('redirects', target, error as Error);
          throw error;
        }
        continue;
      }
      if (statusCode === 401 || statusCode === 403) {
        await body.dump();
        const err = new PacerError('PACER_ERR_MARATHON_AUTH', `${redactUrl(target)}: HTTP ${statusCode}`);
        this.#onError?.('auth', target, err);
        throw err;
      }
      if (statusCode === 404 && allow404) {
        await body.dump();
        return { status: 404, value: undefined, url: target };
      }
      if (statusCode !== 200) {
        await body.dump().catch(() => undefined);
        const err = new PacerError('PACER_ERR_MARATHON_HTTP', `${redactUrl(target)}: HTTP ${statusCode}`);
        this.#onError?.('status', target, err);
        throw err;
      }
      try {
        return { status: 200, value: await read(body, maxBodyBytes), url: target };
      } catch (error) {
        if (!body.destroyed) body.destroy();
        if (error instanceof PacerError) {
          const err = new PacerError('PACER_ERR_MARATHON_BAD_JSON', `${redactUrl(target)}: ${error.message}`);
          this.#onError?.('json', target, err);
          throw err;
        }
        const err = error as Error & { code?: string };
        const reason: FailureReason = /timeout/i.test(err.code ?? err.name) ? 'timeout' : 'connect';
        this.#onError?.(reason, target, err);
        throw new PacerError('PACER_ERR_MARATHON_UNAVAILABLE', `${redactUrl(target)}: ${err.code ?? err.message}`, { cause: err });
      }
    }
    const err = new PacerError('PACER_ERR_MARATHON_REDIRECTS', `${redactUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
    this.#onError?.('redirects', url, err);
    throw err;
  }

  #headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept, 'user-agent': 'pacer' };
    if (this.#authorization) headers['authorization'] = this.#authorization;
    return headers;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}

/** The body's chunks, up to `maxBytes` in all: past that, a PacerError (and the rest is not read). */
async function* limited(body: ResponseBody, maxBytes: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    yield chunk;
  }
}

/** The body parsed as JSON; a PacerError when it is longer than `maxBytes` or not JSON. */
async function readJson(body: ResponseBody, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of limited(body, maxBytes)) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new PacerError('PACER_ERR_MARATHON_BAD_JSON', `body is not JSON (${text.length} bytes)`);
  }
}

/** The body streamed through an AppListSplitter into `sink`, chunk by chunk; the same limits and errors as readJson. */
async function readAppList<T>(body: ResponseBody, maxBytes: number, sink: AppListSink<T>): Promise<T> {
  const splitter = new AppListSplitter((app) => sink.add(app));
  try {
    for await (const chunk of limited(body, maxBytes)) splitter.write(chunk);
    splitter.end();
  } catch (error) {
    if (error instanceof AppListSyntaxError) throw new PacerError('PACER_ERR_MARATHON_BAD_JSON', error.message);
    throw error;
  }
  return sink.result();
}

function tooLarge(maxBytes: number): PacerError {
  return new PacerError('PACER_ERR_MARATHON_BAD_JSON', `body larger than ${maxBytes} bytes`);
}

/**
 * The target of a redirect from `from`. The credentials go along (a standby sends pacer to the
 * leader of the same cluster), so a redirect from https to http, which would send them in clear
 * text, is refused.
 */
export function followRedirect(from: string, location: string): string {
  const target = new URL(location, from);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new PacerError('PACER_ERR_MARATHON_REDIRECTS', `${redactUrl(from)}: redirect to a ${target.protocol} URL refused`);
  }
  if (new URL(from).protocol === 'https:' && target.protocol === 'http:') {
    throw new PacerError('PACER_ERR_MARATHON_REDIRECTS', `${redactUrl(from)}: redirect from https to http refused`);
  }
  return target.href;
}

/** A URL fit for logs: user info, if someone put credentials into --marathon, is removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.href;
  } catch {
    return '[invalid url]';
  }
}
