/**
 * Keeps the snapshot, and so the routing table, in step with Marathon:
 *
 * - a full resync after every (re)connect of the event stream and every `resyncIntervalMs`;
 * - events applied incrementally, coalesced (coalescer.ts): a lone event at once, a burst in a
 *   short window (`windowMs`) that each further event extends, but never past `maxDelayMs` after
 *   the first, so an event storm costs a handful of applies;
 * - events that only say "this app changed" fetch that one app, never all of them;
 * - events that arrive while a fetch is in flight are applied again on top of the fetched state,
 *   so a fetch that started before a task died cannot bring it back (see model/snapshot.ts).
 *
 * Nothing here is on the data path: consumers get immutable tables through `onTable`.
 */
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import { decodeInfo, sameClusterInfo } from '../model/cluster.ts';
import { AppListDecoder, AppProblemLog, decodeAppResponse } from '../model/decode.ts';
import { SUBSCRIBED_EVENT_TYPES, decodeEvent, type MarathonEvent } from '../model/events.ts';
import { isEmptyDiff, type RoutingTable, type TableBuilder, type TableDiff, type TableOptions } from '../model/routing-table.ts';
import {
  EMPTY_SNAPSHOT,
  Tombstones,
  applyEvents,
  countTasks,
  mergeFullFetch,
  withFetchedApp,
  type Snapshot,
} from '../model/snapshot.ts';
import type { MarathonClient } from './client.ts';
import { Coalescer } from './coalescer.ts';
import { EventStream } from './event-stream.ts';

export interface SyncOptions {
  readonly client: MarathonClient;
  readonly builder: TableBuilder;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly resyncIntervalMs: number;
  readonly idleTimeoutMs: number;
  /** Event coalescing (see coalescer.ts); defaults 5 ms window, 50 ms maximum, 250 ms in a storm. */
  readonly coalesce?: { readonly windowMs: number; readonly maxDelayMs: number; readonly stormMaxDelayMs: number };
  readonly onTable: (table: RoutingTable, diff: TableDiff) => void;
}

export type StreamState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** What the admin server shows about the sync. */
export interface SyncStatus {
  readonly ready: boolean;
  readonly stream: StreamState;
  readonly streamUrl: string;
  readonly marathon: string;
  readonly leader: string | undefined;
  readonly lastEventAt: number | undefined;
  readonly lastSyncAt: number | undefined;
  readonly lastSyncError: string | undefined;
  readonly applies: number;
  readonly eventsApplied: number;
  /**
   * True while the table may be behind Marathon: the event stream is not connected, the resync
   * after its last (re)connect has not succeeded yet, or the last resync failed.
   */
  readonly stale?: boolean;
  /** Seconds since pacer last knew its table was current (0 while it is). */
  readonly staleSeconds?: number;
}

const DEFAULT_COALESCE = { windowMs: 5, maxDelayMs: 50, stormMaxDelayMs: 250 };
const RECOVERY_DELAY_MS = 1_000;
/** How long the first full fetch waits for the event stream to open (see start()). */
const START_GRACE_MS = 1_000;

export class SyncEngine {
  readonly #o: SyncOptions;
  readonly #stream: EventStream;
  readonly #tombstones = new Tombstones();
  readonly #coalescer: Coalescer;
  #resyncIntervalMs: number;
  #snapshot: Snapshot = EMPTY_SNAPSHOT;

  #pending: MarathonEvent[] = [];
  #lastEventAt = 0;

  /** Events received since the in-flight full fetch was sent (undefined when none is in flight). */
  #resyncJournal: MarathonEvent[] | undefined;
  #resyncAgain: string | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  /** The first full fetch, until the stream opens (start()). */
  #startTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #recoveryTimer: NodeJS.Timeout | undefined;
  /**
   * Ids Marathon answered 404 for since the last full resync (pods send status events under their
   * pod id, which /v2/apps does not know): not fetched again until an app event names them.
   */
  readonly #missingApps = new Set<string>();
  #resyncFailures = 0;
  /** Per app with a fetch in flight: events for it since the fetch was sent. */
  readonly #appJournals = new Map<string, MarathonEvent[]>();
  readonly #appAgain = new Set<string>();

  #ready = false;
  #stopped = false;
  #streamState: StreamState = 'stopped';
  #leader: string | undefined;
  #lastSyncAt: number | undefined;
  #lastSyncError: string | undefined;
  #applies = 0;
  #eventsApplied = 0;
  #readyWaiters: (() => void)[] = [];
  /** Staleness: bumped on every stream open; a resync started in the current epoch makes the table current. */
  #streamEpoch = 0;
  #syncedEpoch = -1;
  #staleSince: number | undefined = Date.now();
  readonly #appProblems = new AppProblemLog();
  /** The problems array #reportProblems last went through. */
  #reportedFor: RoutingTable['problems'] | undefined;

  constructor(options: SyncOptions) {
    this.#o = options;
    this.#resyncIntervalMs = options.resyncIntervalMs;
    this.#coalescer = new Coalescer({ ...(options.coalesce ?? DEFAULT_COALESCE), flush: () => this.#flush() });
    const { client, metrics, logger } = options;
    // The staleness gauge is worked out when scraped (as the DNS counters are), not kept by a timer.
    const stale = metrics.marathonStaleSeconds;
    Object.assign(stale, { collect: () => stale.set(this.#staleSeconds()) });
    this.#stream = new EventStream({
      urls: () => client.urls,
      authorization: client.authorization,
      connectTimeoutMs: client.timeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      onOpen: (url) => {
        this.#streamState = 'connected';
        metrics.marathonStreamConnected.set(1);
        logger.info({ marathon: url }, 'event stream connected');
        this.#streamEpoch++;
        clearTimeout(this.#startTimer);
        this.#startTimer = undefined;
        this.resync('connect');
      },
      onEvent: (type, data) => this.#onEvent(type, data),
      onActivity: () => {
        this.#lastEventAt = Date.now();
        metrics.marathonStreamLastActivity.set(this.#lastEventAt / 1000);
      },
      onClose: (reason, retryInMs) => {
        this.#streamState = 'disconnected';
        metrics.marathonStreamConnected.set(0);
        metrics.marathonStreamReconnects.inc({ reason: streamCloseReason(reason) });
        logger.warn({ reason, retryInMs }, 'event stream closed; reconnecting');
        this.#refreshStale();
      },
    });
  }

  get table(): RoutingTable {
    return this.#o.builder.table;
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get status(): SyncStatus {
    return {
      ready: this.#ready,
      stream: this.#streamState,
      streamUrl: this.#stream.url,
      marathon: this.#o.client.current,
      leader: this.#leader,
      lastEventAt: this.#lastEventAt || undefined,
      lastSyncAt: this.#lastSyncAt,
      lastSyncError: this.#lastSyncError,
      applies: this.#applies,
      eventsApplied: this.#eventsApplied,
      stale: this.#staleSince !== undefined,
      staleSeconds: this.#staleSeconds(),
    };
  }

  /** Current = stream connected, a resync started since it opened succeeded, and no resync failed since. */
  #refreshStale(): void {
    const current = this.#streamState === 'connected' && this.#syncedEpoch === this.#streamEpoch && this.#lastSyncError === undefined;
    if (current) this.#staleSince = undefined;
    else this.#staleSince ??= Date.now();
  }

  /** Seconds since pacer last knew its table was current (0 while it is). */
  #staleSeconds(): number {
    return this.#staleSince === undefined ? 0 : Math.max(0, (Date.now() - this.#staleSince) / 1000);
  }

  start(): void {
    this.#stopped = false;
    this.#streamState = 'connecting';
    this.#o.metrics.marathonStreamConnected.set(0);
    this.#refreshStale();
    this.#stream.start();
    // The first full fetch waits for the stream to open, briefly: sent once the stream is open, it
    // misses no event, and it is the resync the opening asks for, so a start costs one full fetch
    // instead of two back to back (at 10,000 apps each is a 50 MB body to parse). A Marathon whose
    // stream does not open within START_GRACE_MS is still served: the fetch goes out anyway.
    clearTimeout(this.#startTimer);
    this.#startTimer = setTimeout(() => {
      this.#startTimer = undefined;
      this.resync('start');
    }, START_GRACE_MS);
    this.#startTimer.unref();
  }

  /**
   * Apply a configuration reload: new table options (groups, strict mode, health checks) are
   * served at once, diffed against the current table; a new resync interval applies from the
   * next resync.
   */
  reconfigure(change: { readonly table?: TableOptions; readonly resyncIntervalMs?: number }): void {
    if (change.resyncIntervalMs !== undefined) this.#resyncIntervalMs = change.resyncIntervalMs;
    if (change.table) {
      this.#o.builder.reconfigure(change.table);
      this.#publish(performance.now());
    }
  }

  /** Resolves once the first full sync has been applied. */
  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#streamState = 'stopped';
    this.#coalescer.cancel();
    clearTimeout(this.#resyncTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#recoveryTimer);
    clearTimeout(this.#startTimer);
    await this.#stream.stop();
  }

  // ---- events --------------------------------------------------------------------------------

  #onEvent(type: string, data: string): void {
    const { metrics, logger } = this.#o;
    metrics.marathonEvents.inc({ type: eventTypeLabel(type) });
    const decoded = decodeEvent(type, data);
    if (!decoded.ok) {
      metrics.marathonEventsMalformed.inc();
      logger.warn({ eventType: type, error: decoded.error, bytes: data.length }, 'malformed Marathon event skipped');
      return;
    }
    const event = decoded.value;
    if (event.kind === 'ignored') return;
    if (event.kind === 'app') for (const appId of event.appIds) this.#missingApps.delete(appId);
    this.#pending.push(event);
    this.#resyncJournal?.push(event);
    if (this.#appJournals.size > 0) {
      for (const [appId, journal] of this.#appJournals) if (touchesApp(event, appId)) journal.push(event);
    }
    this.#coalescer.signal();
  }

  #flush(): void {
    const events = this.#pending;
    if (events.length === 0) return;
    this.#pending = [];
    const started = performance.now();
    let refetch: ReadonlySet<string>;
    let changed: ReadonlySet<string>;
    try {
      const applied = applyEvents(this.#snapshot, events, this.#tombstones);
      this.#snapshot = applied.snapshot;
      refetch = applied.refetch;
      changed = applied.changed;
    } catch (error) {
      this.#applyFailed(error);
      return;
    }
    this.#eventsApplied += events.length;
    this.#o.metrics.routingApplyEvents.observe(events.length);
    this.#publish(started, changed);
    // While a full fetch is in flight, its journal replay decides what still needs fetching.
    if (!this.#resyncJournal) for (const appId of refetch) void this.#fetchApp(appId);
  }

  /** A bug, not a Marathon fault: keep serving the last good table, say so, and start over from a full fetch. */
  #applyFailed(error: unknown): void {
    this.#o.metrics.routingApplyErrors.inc();
    this.#o.logger.error({ err: error }, 'applying Marathon changes failed; serving the last good table and resyncing');
    this.#scheduleRecovery();
  }

  /** A resync soon (collapsed: one at a time), to recover from a failed apply or fetch. */
  #scheduleRecovery(): void {
    if (this.#stopped || this.#recoveryTimer) return;
    this.#recoveryTimer = setTimeout(() => {
      this.#recoveryTimer = undefined;
      this.resync('recover');
    }, RECOVERY_DELAY_MS);
    this.#recoveryTimer.unref();
  }

  /**
   * Build and hand out the table; `changedApps` narrows the build to the apps an event batch
   * touched. Returns the time the consumers took (ms).
   */
  #publish(startedAt: number, changedApps?: ReadonlySet<string>): number {
    const { metrics, onTable, builder } = this.#o;
    let built;
    try {
      built = builder.build(this.#snapshot, Date.now(), changedApps);
    } catch (error) {
      this.#applyFailed(error);
      return 0;
    }
    const { table, diff } = built;
    this.#applies++;
    metrics.routingApplies.inc();
    metrics.routingApplyDuration.observe((performance.now() - startedAt) / 1000);
    if (isEmptyDiff(diff)) return 0;
    metrics.routingVersion.set(table.version);
    metrics.routingApps.set(table.counts.apps);
    metrics.routingTasks.set(table.counts.tasks);
    metrics.routingServices.set(table.services.length);
    metrics.routingRoutableBackends.set(table.counts.routableBackends);
    this.#reportProblems(table);
    const consumersAt = performance.now();
    try {
      onTable(table, diff);
    } catch (error) {
      // onTable threw (pacer.ts catches each consumer's own failure, naming it; this is what is
      // left: the change log, the status page's record): the sync goes on.
      this.#o.metrics.routingApplyErrors.inc();
      this.#o.logger.error({ err: error, version: table.version }, 'handing out the routing table failed');
    }
    return performance.now() - consumersAt;
  }

  #reportedProblems = new Map<string, string>();

  #reportProblems(table: RoutingTable): void {
    // The incremental build keeps the problems array when no app's problems changed: nothing new.
    if (table.problems === this.#reportedFor) return;
    this.#reportedFor = table.problems;
    const { metrics, logger } = this.#o;
    const byApp = new Map<string, number>();
    const seen = new Map<string, string>();
    for (const p of table.problems) {
      byApp.set(p.appId, (byApp.get(p.appId) ?? 0) + 1);
      const key = `${p.appId}\u0000${p.label}`;
      const text = `${p.value}\u0000${p.reason}`;
      seen.set(key, text);
      if (this.#reportedProblems.get(key) !== text) {
        logger.warn({ app: p.appId, label: p.label, reason: p.reason }, 'label ignored');
      }
    }
    for (const key of this.#reportedProblems.keys()) {
      const appId = key.slice(0, key.indexOf('\u0000'));
      if (!byApp.has(appId)) metrics.labelProblems.remove({ app: appId });
    }
    for (const [appId, n] of byApp) metrics.labelProblems.set({ app: appId }, n);
    this.#reportedProblems = seen;
  }

  // ---- fetches -------------------------------------------------------------------------------

  /** Fetch every app with its tasks and replace the snapshot. Concurrent requests collapse into one follow-up. */
  resync(trigger: string): void {
    if (this.#stopped) return;
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    if (this.#resyncJournal) {
      this.#resyncAgain = trigger;
      return;
    }
    void this.#resync(trigger);
  }

  async #resync(trigger: string): Promise<void> {
    const { client, metrics, logger } = this.#o;
    clearTimeout(this.#resyncTimer);
    clearTimeout(this.#retryTimer);
    this.#resyncJournal = [];
    const started = performance.now();
    const epoch = this.#streamEpoch;
    try {
      // The apps are parsed and decoded one by one as they arrive: the document is never held whole.
      const decoded = await client.fetchApps(() => new AppListDecoder());
      for (const problem of decoded.problems) logger.warn({ problem }, 'app skipped');
      for (const p of this.#appProblems.fresh(decoded.apps, true)) logger.warn({ app: p.appId, problems: p.problems }, 'app definition problems');
      if (this.#stopped) return;
      const journal = this.#resyncJournal;
      this.#missingApps.clear();
      const fetched = performance.now();
      let snapshot = mergeFullFetch(this.#snapshot, decoded.apps, this.#tombstones);
      const replay = applyEvents(snapshot, journal, this.#tombstones);
      snapshot = replay.snapshot;
      this.#snapshot = snapshot;
      this.#resyncJournal = undefined;
      const merged = performance.now();
      const consumersMs = this.#publish(started);
      const seconds = (performance.now() - started) / 1000;
      metrics.marathonResyncs.inc({ trigger, result: 'ok' });
      metrics.marathonResyncDuration.observe(seconds);
      metrics.marathonLastSync.set(Date.now() / 1000);
      this.#lastSyncAt = Date.now();
      this.#lastSyncError = undefined;
      this.#resyncFailures = 0;
      this.#syncedEpoch = epoch;
      this.#refreshStale();
      logger.info(
        {
          trigger,
          apps: snapshot.apps.size,
          tasks: countTasks(snapshot),
          version: this.table.version,
          ms: Math.round(seconds * 1000),
          // Where the time went: GET with each app parsed and decoded as it arrives, merge into the
          // snapshot, table build, consumers (proxy, DNS, …).
          phasesMs: {
            fetch: Math.round(fetched - started),
            merge: Math.round(merged - fetched),
            table: Math.round(seconds * 1000 - (merged - started) - consumersMs),
            consumers: Math.round(consumersMs),
          },
        },
        'resync applied',
      );
      if (!this.#ready) {
        this.#ready = true;
        for (const resolve of this.#readyWaiters) resolve();
        this.#readyWaiters = [];
      }
      for (const appId of replay.refetch) void this.#fetchApp(appId);
      void this.#refreshInfo();
    } catch (error) {
      this.#resyncJournal = undefined;
      const message = (error as Error).message;
      metrics.marathonResyncs.inc({ trigger, result: 'error' });
      this.#lastSyncError = message;
      this.#resyncFailures++;
      this.#refreshStale();
      const retryMs = Math.min(30_000, 500 * 2 ** Math.min(this.#resyncFailures - 1, 6));
      logger.warn({ trigger, error: message, retryInMs: retryMs }, 'resync failed; serving the last good table');
      if (!this.#stopped) {
        this.#retryTimer = setTimeout(() => this.resync('retry'), retryMs);
        this.#retryTimer.unref();
      }
    } finally {
      if (!this.#stopped) {
        this.#resyncTimer = setTimeout(() => this.resync('periodic'), this.#resyncIntervalMs);
        this.#resyncTimer.unref();
        const again = this.#resyncAgain;
        this.#resyncAgain = undefined;
        if (again && !this.#resyncJournal) this.resync(again);
      }
    }
  }

  async #fetchApp(appId: string): Promise<void> {
    if (this.#stopped || this.#missingApps.has(appId)) return;
    if (this.#appJournals.has(appId)) {
      this.#appAgain.add(appId);
      return;
    }
    const { client, metrics, logger } = this.#o;
    const journal: MarathonEvent[] = [];
    this.#appJournals.set(appId, journal);
    const started = performance.now();
    try {
      const json = await client.fetchApp(appId);
      if (this.#stopped) return;
      let fetched;
      if (json !== undefined) {
        const decoded = decodeAppResponse(json);
        if (!decoded.ok) throw new Error(`GET /v2/apps${appId}: ${decoded.error}`);
        fetched = decoded.value;
        for (const p of this.#appProblems.fresh([fetched], false)) logger.warn({ app: p.appId, problems: p.problems }, 'app definition problems');
      }
      // Apply pending events first, so that the journal replay below is the last word.
      this.#flushNow();
      const merged = withFetchedApp(this.#snapshot, appId, fetched, this.#tombstones);
      const replay = applyEvents(merged, journal, this.#tombstones);
      this.#snapshot = replay.snapshot;
      const changed = new Set(replay.changed).add(appId);
      if (!fetched) this.#missingApps.add(appId);
      metrics.marathonAppFetches.inc({ result: fetched ? 'ok' : 'gone' });
      this.#publish(started, changed);
    } catch (error) {
      metrics.marathonAppFetches.inc({ result: 'error' });
      logger.warn({ app: appId, error: (error as Error).message }, 'app fetch failed; resyncing shortly');
      this.#scheduleRecovery();
    } finally {
      this.#appJournals.delete(appId);
      if (this.#appAgain.delete(appId)) void this.#fetchApp(appId);
    }
  }

  #flushNow(): void {
    this.#coalescer.cancel();
    this.#flush();
  }

  async #refreshInfo(): Promise<void> {
    let json: unknown;
    try {
      json = await this.#o.client.fetchInfo();
    } catch (error) {
      this.#o.logger.debug({ error: (error as Error).message }, 'GET /v2/info failed');
      return;
    }
    const decoded = decodeInfo(json);
    if (!decoded.ok || this.#stopped) return;
    this.#leader = decoded.value.marathonLeader;
    if (sameClusterInfo(this.#snapshot.info, decoded.value)) return;
    this.#snapshot = { ...this.#snapshot, info: decoded.value };
    this.#publish(performance.now());
  }
}

function touchesApp(event: MarathonEvent, appId: string): boolean {
  switch (event.kind) {
    case 'status':
    case 'instance':
    case 'check':
    case 'instance-health':
      return event.appId === appId;
    case 'app':
      return event.appIds.includes(appId);
    case 'ignored':
      return false;
  }
}

const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(SUBSCRIBED_EVENT_TYPES);

/** Event type as a metric label: bounded to the subscribed set. */
function eventTypeLabel(type: string): string {
  return KNOWN_EVENT_TYPES.has(type) ? type : 'other';
}

function streamCloseReason(reason: string): string {
  if (reason.startsWith('HTTP ')) return 'status';
  if (reason.startsWith('no byte')) return 'idle';
  if (/timeout/i.test(reason)) return 'timeout';
  return 'error';
}
