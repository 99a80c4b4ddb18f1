// Fault injection state: which faults hold now. Immediate faults (drop-streams, leader-change) are acted on by the emulator.
import { isJsonObject } from './types.ts';

export type Fault =
  | { kind: 'drop-streams' }
  | { kind: 'leader-change' }
  | { kind: 'http-error'; status: number; durationMs?: number }
  | { kind: 'slow'; delayMs: number; phase?: SlowPhase; durationMs?: number }
  | { kind: 'silence'; durationMs?: number }
  | { kind: 'no-leader'; durationMs?: number }
  | { kind: 'bad-json'; durationMs?: number };

/**
 * Where a slow response waits: `headers` (default) before the request is handled, so the answer is
 * fresh when it finally comes; `body` after it was computed and its headers sent, so the answer is
 * stale by the time it arrives (a fetch racing the event stream).
 */
export type SlowPhase = 'headers' | 'body';

function until(durationMs: number | undefined): number {
  return durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + durationMs;
}

/** Parses a fault from control-API JSON; returns an error message when invalid. */
export function parseFault(v: unknown): Fault | string {
  if (!isJsonObject(v)) return 'body must be a JSON object';
  const kind = v['kind'];
  const d = v['durationMs'];
  if (d !== undefined && (typeof d !== 'number' || d < 0)) return 'durationMs must be a non-negative number';
  const durationMs = typeof d === 'number' ? d : undefined;
  const withDuration = <T extends object>(f: T): T & { durationMs?: number } =>
    (durationMs === undefined ? f : { ...f, durationMs });
  switch (kind) {
    case 'drop-streams': return { kind };
    case 'leader-change': return { kind };
    case 'http-error': {
      const status = v['status'] ?? 503;
      if (typeof status !== 'number' || status < 100 || status > 599) return 'status must be an HTTP status code';
      return withDuration({ kind, status });
    }
    case 'slow': {
      const delayMs = v['delayMs'];
      if (typeof delayMs !== 'number' || delayMs < 0) return 'delayMs must be a non-negative number';
      const rawPhase = v['phase'] ?? 'headers';
      if (rawPhase !== 'headers' && rawPhase !== 'body') return 'phase must be "headers" or "body"';
      const phase: SlowPhase = rawPhase;
      return withDuration({ kind, delayMs, phase });
    }
    case 'silence': case 'no-leader': case 'bad-json':
      return withDuration({ kind });
    default:
      return `unknown fault kind ${JSON.stringify(kind)}`;
  }
}

export class FaultState {
  #httpError: { status: number; until: number } | undefined;
  #slow: { delayMs: number; phase: SlowPhase; until: number } | undefined;
  #silenceUntil = 0;
  #noLeaderUntil = 0;
  #badJsonUntil = 0;

  /** Records a timed fault. Immediate kinds are ignored here. */
  apply(f: Fault): void {
    switch (f.kind) {
      case 'http-error': this.#httpError = { status: f.status, until: until(f.durationMs) }; break;
      case 'slow': this.#slow = { delayMs: f.delayMs, phase: f.phase ?? 'headers', until: until(f.durationMs) }; break;
      case 'silence': this.#silenceUntil = until(f.durationMs); break;
      case 'no-leader': this.#noLeaderUntil = until(f.durationMs); break;
      case 'bad-json': this.#badJsonUntil = until(f.durationMs); break;
      default: break;
    }
  }

  clear(): void {
    this.#httpError = undefined;
    this.#slow = undefined;
    this.#silenceUntil = 0;
    this.#noLeaderUntil = 0;
    this.#badJsonUntil = 0;
  }

  httpErrorStatus(): number | undefined {
    return this.#httpError !== undefined && Date.now() < this.#httpError.until ? this.#httpError.status : undefined;
  }

  /** Delay a response waits in the given phase now (0 when no slow fault holds for it). */
  slowDelayMs(phase: SlowPhase = 'headers'): number {
    return this.#slow !== undefined && this.#slow.phase === phase && Date.now() < this.#slow.until ? this.#slow.delayMs : 0;
  }

  silenced(): boolean {
    return Date.now() < this.#silenceUntil;
  }

  noLeader(): boolean {
    return Date.now() < this.#noLeaderUntil;
  }

  badJson(): boolean {
    return Date.now() < this.#badJsonUntil;
  }

  describe(): Record<string, unknown> {
    const fmt = (t: number): number | string | null => (Date.now() < t ? (Number.isFinite(t) ? t - Date.now() : 'until cleared') : null);
    return {
      httpError: this.#httpError !== undefined && Date.now() < this.#httpError.until
        ? { status: this.#httpError.status, remainingMs: fmt(this.#httpError.until) } : null,
      slow: this.#slow !== undefined && Date.now() < this.#slow.until ? { delayMs: this.#slow.delayMs, phase: this.#slow.phase, remainingMs: fmt(this.#slow.until) } : null,
      silence: fmt(this.#silenceUntil),
      noLeader: fmt(this.#noLeaderUntil),
      badJson: fmt(this.#badJsonUntil),
    };
  }
}
