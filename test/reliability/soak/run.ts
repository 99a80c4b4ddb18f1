/**
 * `npm run soak [-- NAME …] [--quick]`: the long part of the reliability suite, one script after
 * the other, each in its own process: `steady` (10 minutes of load while apps scale), `dns-fuzz`
 * (1,000,000 fuzzed DNS packets), `marathon-faults` (a minute of Marathon 5xx under traffic, and
 * 100,000 mutated events). `--quick` runs each briefly (a smoke run, no claim). Prints every
 * script's output, then a summary of the figures; exits 1 if any script failed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPTS: Record<string, { full: string[]; quick: string[] }> = {
  steady: { full: [], quick: ['--minutes', '1'] },
  'dns-fuzz': { full: [], quick: ['--packets', '50000'] },
  'marathon-faults': { full: [], quick: ['--quick'] },
};

const { values: opts, positionals } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, allowPositionals: true });
const names = positionals.length > 0 ? positionals : Object.keys(SCRIPTS);
for (const name of names) {
  if (!(name in SCRIPTS)) {
    console.error(`soak: unknown script ${JSON.stringify(name)} (one of ${Object.keys(SCRIPTS).join(', ')})`);
    process.exit(2);
  }
}

interface Outcome {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly figures: Record<string, unknown>;
}

function runScript(name: string): Promise<Outcome> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const args = opts.quick ? SCRIPTS[name]!.quick : SCRIPTS[name]!.full;
  const t0 = Date.now();
  console.log(`\n== ${name} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.on('exit', (code) => {
      let figures: Record<string, unknown> = {};
      try {
        const line = output.split('\n').findLast((l) => l.startsWith('{"name"')) ?? '';
        figures = (JSON.parse(line) as { figures: Record<string, unknown> }).figures;
      } catch {
        // no result line: the script failed before it could print one
      }
      resolve({ name, ok: code === 0, seconds: Math.round((Date.now() - t0) / 1000), figures });
    });
  });
}

const outcomes: Outcome[] = [];
for (const name of names) outcomes.push(await runScript(name));
console.log('\n== soak summary');
for (const o of outcomes) {
  console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.name} (${o.seconds} s) ${JSON.stringify(o.figures)}`);
}
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
