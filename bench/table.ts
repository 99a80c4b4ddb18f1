/**
 * The benchmark table: rows, the pass/miss rule of each target, and the Markdown of
 * docs/benchmarks.md. Pure (no I/O), so test/bench/harness.test.ts can check it on fixed numbers.
 */

/** What a row's target compares. */
export type Target =
  /** median(pacer) / median(peer) must be ≥ min (throughput). */
  | { readonly kind: 'ratio-at-least'; readonly min: number }
  /** median(pacer) / median(peer) must be ≤ max (latency). */
  | { readonly kind: 'ratio-at-most'; readonly max: number }
  /** pacer's figure `stat` must be ≤ max (in the row's unit). */
  | { readonly kind: 'at-most'; readonly stat: Stat; readonly max: number }
  /** pacer's figure `stat` must be ≥ min (in the row's unit). */
  | { readonly kind: 'at-least'; readonly stat: Stat; readonly min: number };

export type Stat = 'median' | 'p99' | 'max';

/** The benches of `npm run bench`, in the order they run. */
export const BENCH_NAMES = ['proxy', 'dns', 'events', 'scale', 'churn'] as const;

export interface Row {
  /** What is measured, e.g. "HTTP throughput, keep-alive". */
  readonly bench: string;
  /** How the figures are summarised: several runs (min/median/max) or a distribution of events (p50/p99/max). */
  readonly summary: 'runs' | 'events';
  readonly unit: string;
  /** One figure per run (summary "runs") or per event (summary "events"). Empty = not measured. */
  readonly pacer: readonly number[];
  /** The peer, measured in the same run (absent when the target is absolute). */
  readonly peer?: { readonly name: string; readonly values: readonly number[] } | undefined;
  readonly target?: Target | undefined;
  /** The command line(s) that produced the figures. */
  readonly command: string;
  readonly note?: string | undefined;
  /** Set when the row could not be measured: the reason. */
  readonly notMeasured?: string | undefined;
}

export type Verdict = 'pass' | 'miss' | 'n/a';

export interface Summary {
  readonly low: number;
  readonly mid: number;
  readonly high: number;
  /** The 99th percentile (events) or the max (runs). */
  readonly p99: number;
}

export function quantileOf(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** runs: min / median / max; events: p50 / p99 / max. */
export function summarise(values: readonly number[], summary: Row['summary']): Summary {
  const max = values.length ? Math.max(...values) : Number.NaN;
  if (summary === 'events') return { low: quantileOf(values, 0.5), mid: quantileOf(values, 0.99), high: max, p99: quantileOf(values, 0.99) };
  return { low: values.length ? Math.min(...values) : Number.NaN, mid: quantileOf(values, 0.5), high: max, p99: quantileOf(values, 0.99) };
}

export function stat(values: readonly number[], which: Stat): number {
  if (which === 'median') return quantileOf(values, 0.5);
  if (which === 'p99') return quantileOf(values, 0.99);
  return values.length ? Math.max(...values) : Number.NaN;
}

/** median(pacer) / median(peer); NaN without a peer. */
export function ratio(row: Row): number {
  if (!row.peer || row.peer.values.length === 0 || row.pacer.length === 0) return Number.NaN;
  return quantileOf(row.pacer, 0.5) / quantileOf(row.peer.values, 0.5);
}

export function verdict(row: Row): Verdict {
  const t = row.target;
  if (!t || row.notMeasured || row.pacer.length === 0) return 'n/a';
  let ok: boolean;
  switch (t.kind) {
    case 'ratio-at-least': {
      const r = ratio(row);
      if (!Number.isFinite(r)) return 'n/a';
      ok = r >= t.min;
      break;
    }
    case 'ratio-at-most': {
      const r = ratio(row);
      if (!Number.isFinite(r)) return 'n/a';
      ok = r <= t.max;
      break;
    }
    case 'at-most': {
      const v = stat(row.pacer, t.stat);
      if (!Number.isFinite(v)) return 'n/a';
      ok = v <= t.max;
      break;
    }
    case 'at-least': {
      const v = stat(row.pacer, t.stat);
      if (!Number.isFinite(v)) return 'n/a';
      ok = v >= t.min;
      break;
    }
  }
  return ok ? 'pass' : 'miss';
}

export function targetText(t: Target | undefined, unit: string): string {
  if (!t) return '–';
  switch (t.kind) {
    case 'ratio-at-least':
      return `≥ ${t.min}x`;
    case 'ratio-at-most':
      return `≤ ${t.max}x`;
    case 'at-most':
      return `${t.stat} ≤ ${t.max} ${unit}`;
    case 'at-least':
      return `${t.stat} ≥ ${t.min} ${unit}`;
  }
}

/** A number for the table: thousands separated, fewer decimals as it grows. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

function triple(values: readonly number[], summary: Row['summary']): string {
  if (values.length === 0) return '–';
  const s = summarise(values, summary);
  return `${fmt(s.low)} / ${fmt(s.mid)} / ${fmt(s.high)}`;
}

const MARK: Record<Verdict, string> = { pass: '✅ pass', miss: '❌ miss', 'n/a': '–' };

export function renderTable(rows: readonly Row[]): string {
  const lines = [
    '| bench | unit | n | pacer (min / median / max, or p50 / p99 / max) | peer | peer figures | ratio (medians) | target | result |',
    '|---|---|---:|---:|---|---:|---:|---|---|',
  ];
  for (const row of rows) {
    if (row.notMeasured) {
      lines.push(`| ${row.bench} | ${row.unit} | 0 | not measured yet | ${row.peer?.name ?? '–'} | – | – | ${targetText(row.target, row.unit)} | not measured yet: ${row.notMeasured} |`);
      continue;
    }
    const r = ratio(row);
    const kind = row.summary === 'events' ? 'events' : 'runs';
    lines.push(
      [
        '',
        ` ${row.bench} `,
        ` ${row.unit} `,
        ` ${row.pacer.length} ${kind} `,
        ` ${triple(row.pacer, row.summary)} `,
        ` ${row.peer?.name ?? '–'} `,
        ` ${row.peer ? triple(row.peer.values, row.summary) : '–'} `,
        ` ${Number.isFinite(r) ? `${r.toFixed(2)}x` : '–'} `,
        ` ${targetText(row.target, row.unit)} `,
        ` ${MARK[verdict(row)]} `,
        '',
      ].join('|'),
    );
  }
  return lines.join('\n');
}

export interface Environment {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly os: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly wallSeconds: number;
  readonly benches: readonly string[];
}

export function renderDocument(env: Environment, rows: readonly Row[], sections: { readonly notes: string; readonly tried: string }): string {
  const commands = rows.filter((r) => !r.notMeasured && r.command).map((r) => `- **${r.bench}**: \`${r.command}\`${r.note ? ` — ${r.note}` : ''}`);
  const missing = rows.filter((r) => r.notMeasured).map((r) => `- **${r.bench}**: ${r.notMeasured}`);
  const versions = Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ');
  return `# Benchmarks: pacer side by side with HAProxy and NSD

<!-- Generated by \`npm run bench\` (bench/run.ts); do not edit by hand: the next run rewrites this file. -->

Written by \`npm run bench\` on ${env.date} (benches: ${env.benches.join(', ')}; ${Math.round(env.wallSeconds)} s in all).

- **Machine**: ${env.cpu}, ${env.cores} cores, ${env.memory} of memory, ${env.os}
- **Versions**: ${versions}
- Everything runs on loopback on the same cores: the load generator, the backend, the proxy or DNS
  server under test. The machine is shared and noisy, so **read the ratios** (pacer and its peer
  measured in the same run, interleaved), not the absolute numbers, which move by ±30 % between runs.

${renderTable(rows)}

How to read it: for throughput and latency rows, *n* runs of each side were interleaved and the
columns give min / median / max over them; the ratio is median(pacer) / median(peer). Event rows
give p50 / p99 / max over *n* events. A target is met (✅) or missed (❌) on the figure it names.

## Commands

Run everything with \`npm run bench\`, one bench with \`npm run bench -- <name>\` (names: ${BENCH_NAMES.join(', ')}).

${commands.join('\n')}

${missing.length ? `## Not measured yet\n\n${missing.join('\n')}\n\n` : ''}## Notes

${sections.notes}

## What was tried to reach the targets

${sections.tried}
`;
}
