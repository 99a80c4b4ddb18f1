/**
 * `--help` and the README's options table, both generated from the catalogue so that neither can
 * drift from what the parser accepts.
 */
import { OPTIONS, OPTION_NAMES, type OptionName, envName } from './options.ts';

/** The subcommands `pacer` dispatches on (handled by the CLI, listed in the help). */
export const SUBCOMMANDS = {
  demo: 'run a Marathon emulator with sample apps and local backends, and pacer pointed at it',
  emulator: 'run the Marathon emulator alone (a dev/test tool, not a scheduler)',
  habitat: 'app-json ORIGIN/NAME[/VERSION]: print (or --deploy) a Marathon app that runs a Habitat package in a ring',
} as const;
export type Subcommand = keyof typeof SUBCOMMANDS;

/** `--dns-port N`, `--[no-]health-check`. */
export function flagSyntax(name: OptionName): string {
  const spec = OPTIONS[name];
  if (spec.kind === 'bool') return `--[no-]${name}`;
  return `--${name} ${spec.placeholder}`;
}

export function helpText(): string {
  const rows: [string, string][] = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name];
    const notes = [
      `default: ${spec.defaultText === '' ? 'none' : spec.defaultText}`,
      `env: ${envName(name)}`,
      spec.inFile ? `yaml: ${name}` : 'not in the YAML file',
    ];
    if (spec.repeatable) notes.push('repeatable');
    return [flagSyntax(name), `${spec.help}\n${notes.join('; ')}`];
  });
  rows.push(['-h, --help', 'show this help and exit'], ['-V, --version', 'print the version and exit']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 3;
  const subWidth = Math.max(...Object.keys(SUBCOMMANDS).map((s) => s.length)) + 3;
  const lines = [
    'Usage: pacer [options]',
    ...Object.entries(SUBCOMMANDS).map(([name, what]) => `       pacer ${name.padEnd(subWidth)}${what}`),
    '',
    'Service discovery and load balancing for Apache Mesos + Marathon (marathon-lb and Mesos-DNS in one process).',
    '',
    'Every option is also an env var (PACER_<NAME>) and a key of the YAML file given by --config.',
    'Flags win over env vars, env vars over the file, the file over the defaults. Lists are',
    'comma-separated; repeatable options may also be given more than once. Booleans take no value',
    '(--strict-mode, --no-health-check) or an explicit one (--health-check=false); in env vars and',
    'the file: true/false, 1/0, yes/no, on/off. Durations are seconds.',
    '',
    'Options:',
  ];
  for (const [left, right] of rows) {
    const [first = '', ...more] = right.split('\n');
    lines.push(`  ${left.padEnd(width)}${first}`);
    for (const line of more) lines.push(`  ${''.padEnd(width)}${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function code(text: string): string {
  return `\`${text}\``;
}

/**
 * The options as a Markdown table (option, env var, YAML key, default, meaning), for the README.
 */
export function optionsMarkdownTable(): string {
  const lines = ['| option | env var | YAML key | default | meaning |', '|---|---|---|---|---|'];
  for (const name of OPTION_NAMES) {
    const spec = OPTIONS[name];
    const option = code(flagSyntax(name)) + (spec.repeatable ? ' (repeatable)' : '');
    const yamlKey = spec.inFile ? code(name) : '–';
    const def = spec.defaultText === '' ? '–' : code(spec.defaultText);
    lines.push(`| ${[option, code(envName(name)), yamlKey, def, spec.help].map(cell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
