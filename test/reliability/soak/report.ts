/**
 * The end of every soak script: print its checks, then one JSON line
 * `{"name","ok","checks":{…},"figures":{…}}` (the line `run.ts` reads), and exit 1 if a check failed.
 */
export interface SoakResult {
  readonly name: string;
  /** What was checked, and whether it held. */
  readonly checks: readonly (readonly [string, boolean])[];
  readonly figures: Readonly<Record<string, number | string>>;
}

export function finish(result: SoakResult): never {
  const ok = result.checks.every(([, held]) => held);
  for (const [what, held] of result.checks) console.log(`  ${held ? 'ok  ' : 'FAIL'} ${what}`);
  console.log(JSON.stringify({ name: result.name, ok, checks: Object.fromEntries(result.checks), figures: result.figures }));
  process.exit(ok ? 0 : 1);
}
