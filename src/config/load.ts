/**
 * Configuration loading: flags > env vars (`PACER_<NAME>`) > YAML file (`--config`) > defaults.
 *
 * - Flags: `--name value` or `--name=value`; booleans take no separate value (`--strict-mode`,
 *   `--no-health-check`, `--health-check=false`); repeatable options accumulate, any other option
 *   given twice is an error. `--` ends the options; pacer takes no positional arguments.
 * - Env vars: `PACER_DNS_PORT=5353`; lists comma-separated; an empty variable counts as unset.
 *   Unknown `PACER_*` variables are not errors (other tools may share the prefix) but are reported
 *   in `Config.warnings` so that the CLI can log a likely typo.
 * - YAML file: a mapping whose keys are the option names exactly as the flags spell them
 *   (kebab-case, `dns-port`). camelCase or snake_case keys are refused with a hint, so there is
 *   one spelling everywhere. Lists may be YAML sequences or comma-separated strings; an empty value
 *   (`dns-port:`) means the default. Relative paths are relative to the working directory.
 * - Every value given is validated, even one that a higher-precedence source overrides, so a bad
 *   file does not lie in wait for the day its flag is removed.
 *
 * Any problem throws `ConfigError` with one line naming the option as the user wrote it.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.ts';
import { SUBCOMMANDS, type Subcommand, flagSyntax } from './help.ts';
import { type ConfigValues, OPTIONS, OPTION_NAMES, type OptionName, envName } from './options.ts';

export { ConfigError } from './errors.ts';
export { helpText, optionsMarkdownTable, SUBCOMMANDS, type Subcommand } from './help.ts';
export {
  type ConfigValues,
  type IpSource,
  type LogLevel,
  type OptionName,
  type Resolver,
  IP_SOURCES,
  LOG_LEVELS,
  OPTIONS,
  OPTION_NAMES,
  envName,
} from './options.ts';

/** Where a value came from. */
export type Source = 'flag' | 'env' | 'file' | 'default';

export interface Config extends ConfigValues {
  /** Where each option's value came from, by option name. */
  readonly sources: Readonly<Record<OptionName, Source>>;
  /** Things worth a log line that are not errors (unknown `PACER_*` env vars). */
  readonly warnings: readonly string[];
}

export type CommandLine =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  /** `pacer demo …` / `pacer emulator …`: the subcommand parses `args` itself. */
  | { readonly kind: 'subcommand'; readonly name: Subcommand; readonly args: readonly string[] }
  | { readonly kind: 'run'; readonly config: Config };

export type Env = Readonly<Record<string, string | undefined>>;
export type ReadFile = (path: string) => string;

const defaultReadFile: ReadFile = (path) => readFileSync(path, 'utf8');

/** Option values of one source, as text: one entry per occurrence. */
type Raw = Map<OptionName, string[]>;

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

function isSubcommand(name: string): name is Subcommand {
  return Object.hasOwn(SUBCOMMANDS, name);
}

/**
 * Parse the command line (without `node` and the script: `process.argv.slice(2)`), the env and
 * the config file into what the CLI should do. `--help`/`-h` and `--version`/`-V` win over
 * everything else on the line, bad values included.
 */
export function parseCommandLine(argv: readonly string[], env: Env, readFile: ReadFile = defaultReadFile): CommandLine {
  const first = argv[0];
  if (first !== undefined && isSubcommand(first)) return { kind: 'subcommand', name: first, args: argv.slice(1) };
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  if (options.some((a) => a === '--help' || a === '-h')) return { kind: 'help' };
  if (options.some((a) => a === '--version' || a === '-V')) return { kind: 'version' };
  return { kind: 'run', config: resolve(argv, env, readFile) };
}

/**
 * The configuration for a run of pacer. Throws `ConfigError` for any problem, and for `--help`,
 * `--version` and subcommands, which only `parseCommandLine` handles.
 */
export function loadConfig(argv: readonly string[], env: Env, readFile: ReadFile = defaultReadFile): Config {
  const line = parseCommandLine(argv, env, readFile);
  if (line.kind === 'run') return line.config;
  const what = line.kind === 'subcommand' ? `the ${line.name} subcommand` : `--${line.kind}`;
  throw new ConfigError(`${what} is not a configuration option (use parseCommandLine)`);
}

function resolve(argv: readonly string[], env: Env, readFile: ReadFile): Config {
  const flags = readFlags(argv);
  const fromEnv = readEnv(env);
  const decoded = {
    flag: decodeAll(flags, (name) => `--${name}`),
    env: decodeAll(fromEnv, (name) => envName(name)),
  };

  const configFlag = decoded.flag.get('config');
  const configEnv = decoded.env.get('config');
  const configPath = typeof configFlag === 'string' ? configFlag : typeof configEnv === 'string' ? configEnv : undefined;
  const configLabel = typeof configFlag === 'string' ? '--config' : 'PACER_CONFIG';
  const fromFile = configPath === undefined ? new Map<OptionName, unknown>() : readConfigFile(configPath, configLabel, readFile);

  const values: Record<string, unknown> = {};
  const sources: Partial<Record<OptionName, Source>> = {};
  for (const name of OPTION_NAMES) {
    const spec = OPTIONS[name];
    let source: Source = 'default';
    let value: unknown = spec.default;
    if (decoded.flag.has(name)) [source, value] = ['flag', decoded.flag.get(name)];
    else if (decoded.env.has(name)) [source, value] = ['env', decoded.env.get(name)];
    else if (fromFile.has(name)) [source, value] = ['file', fromFile.get(name)];
    values[spec.field] = value;
    sources[name] = source;
  }
  // The catalogue's decoders produce each field's type (checked statically in options.ts).
  const config = values as ConfigValues & Record<string, unknown>;
  return Object.freeze({
    ...config,
    sources: Object.freeze(fullRecord(sources)),
    warnings: Object.freeze(unknownEnvWarnings(env)),
  });
}

function fullRecord(sources: Partial<Record<OptionName, Source>>): Record<OptionName, Source> {
  return Object.fromEntries(OPTION_NAMES.map((name) => [name, sources[name] ?? 'default'])) as Record<OptionName, Source>;
}

function decodeAll(raw: Raw, label: (name: OptionName) => string): Map<OptionName, unknown> {
  const out = new Map<OptionName, unknown>();
  for (const [name, occurrences] of raw) {
    const r = OPTIONS[name].decode(occurrences);
    if (!r.ok) throw new ConfigError(`${label(name)}: ${r.error}`);
    out.set(name, r.value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Flags

function readFlags(argv: readonly string[]): Raw {
  const raw: Raw = new Map();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      const extra = argv[i + 1];
      if (extra !== undefined) throw new ConfigError(`unexpected argument ${JSON.stringify(extra)}`);
      break;
    }
    if (!token.startsWith('-') || token === '-') throw new ConfigError(unexpectedArgument(token, argv[i - 1]));
    if (!token.startsWith('--')) throw new ConfigError(`unknown option ${shown(token)}`);

    const body = token.slice(2);
    const eq = body.indexOf('=');
    const given = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);

    let name: OptionName;
    let value: string;
    const negated = given.startsWith('no-') ? given.slice(3) : undefined;
    if (isOptionName(given)) {
      name = given;
      const spec = OPTIONS[name];
      if (inline !== undefined) value = inline;
      else if (spec.kind === 'bool') value = 'true';
      else {
        const next = argv[i + 1];
        // The next token is the value unless it looks like an option (a negative number does not).
        if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-[0-9.]/.test(next))) {
          throw new ConfigError(`--${name}: missing value, expected ${flagSyntax(name)}`);
        }
        value = next;
        i++;
      }
    } else if (negated !== undefined && isOptionName(negated) && OPTIONS[negated].kind === 'bool') {
      name = negated;
      if (inline !== undefined) throw new ConfigError(`--${given}: takes no value, got ${shown(inline)}`);
      value = 'false';
    } else {
      const hint = suggest(given, OPTION_NAMES);
      throw new ConfigError(`unknown option ${shown(`--${given}`)}${hint === undefined ? '' : ` (did you mean --${hint}?)`}`);
    }

    const seen = raw.get(name);
    if (seen === undefined) raw.set(name, [value]);
    else if (OPTIONS[name].repeatable) seen.push(value);
    else throw new ConfigError(`--${name}: given more than once`);
  }
  return raw;
}

function unexpectedArgument(token: string, previous: string | undefined): string {
  const base = `unexpected argument ${shown(token)}`;
  if (isSubcommand(token)) return `${base} (subcommands come first: pacer ${token} [options])`;
  const prev = previous?.startsWith('--') === true ? previous.slice(2) : undefined;
  if (prev !== undefined && !prev.includes('=')) {
    const bool = prev.startsWith('no-') ? prev.slice(3) : prev;
    if (isOptionName(bool) && OPTIONS[bool].kind === 'bool') return `${base} (write --${bool}=${token.trim()} to give a boolean a value)`;
  }
  return base;
}

/** A token as it appears in an error: quoted when it holds anything odd. */
function shown(text: string): string {
  return /^[\w\-.:/@*,[\]]+$/.test(text) ? text : JSON.stringify(text);
}

function shownName(text: string): string {
  return /^[\w\-]+$/.test(text) ? text : JSON.stringify(text);
}

// ---------------------------------------------------------------------------------------------
// Env

function readEnv(env: Env): Raw {
  const raw: Raw = new Map();
  for (const name of OPTION_NAMES) {
    const value = env[envName(name)];
    if (value !== undefined && value.trim() !== '') raw.set(name, [value]);
  }
  return raw;
}

function unknownEnvWarnings(env: Env): string[] {
  const known = new Set(OPTION_NAMES.map(envName));
  const warnings: string[] = [];
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith('PACER_') || known.has(key)) continue;
    const hint = suggest(key, [...known]);
    warnings.push(`${key}: not a pacer option, ignored${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// YAML file

function readConfigFile(path: string, label: string, readFile: ReadFile): Map<OptionName, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError(`${label}: cannot read ${JSON.stringify(path)}: ${describeIoError(err)}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const message = (error.message.split('\n')[0] ?? '').replace(/:\s*$/, '');
    throw new ConfigError(`${path}: invalid YAML: ${message}`);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    throw new ConfigError(`${path}: invalid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (data === null || data === undefined) return new Map();
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${path}: must be a mapping of option names to values, got ${describeYaml(data)}`);
  }

  const raw: Raw = new Map();
  const entries: [string, unknown][] = Object.entries(data);
  for (const [key, value] of entries) {
    const where = `${path}: ${shownName(key)}`;
    if (!isOptionName(key)) {
      const hint = suggest(key, OPTION_NAMES.filter((n) => OPTIONS[n].inFile));
      throw new ConfigError(`${where}: unknown key${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
    }
    const spec = OPTIONS[key];
    if (!spec.inFile) throw new ConfigError(`${where}: cannot be set in a config file`);
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      if (!spec.list) throw new ConfigError(`${where}: must be a single value, got a list`);
      const items: unknown[] = value;
      const texts: string[] = [];
      for (const item of items) {
        const text = scalarText(item);
        if (text === undefined) throw new ConfigError(`${where}: list items must be plain values, got ${describeYaml(item)}`);
        texts.push(text);
      }
      raw.set(key, texts);
    } else {
      const text = scalarText(value);
      if (text === undefined) {
        throw new ConfigError(`${where}: must be a value${spec.list ? ' or a list' : ''}, got ${describeYaml(value)}`);
      }
      raw.set(key, [text]);
    }
  }
  return decodeAll(raw, (name) => `${path}: ${name}`);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

function describeYaml(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(String(value));
}

function describeIoError(err: unknown): string {
  if (err instanceof Error) {
    // Node: "ENOENT: no such file or directory, open 'x.yaml'": the path is already named.
    return (err.message.split('\n')[0] ?? '').replace(/, \w+ '.*'$/, '');
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// Hints

function normalise(text: string): string {
  return text
    .replace(/^PACER_/i, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The candidate a mistyped name most likely meant (camelCase, snake_case, a typo or two). */
function suggest(given: string, candidates: readonly string[]): string | undefined {
  const g = normalise(given);
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.floor(g.length / 3) + 1);
  for (const candidate of candidates) {
    const d = distance(g, normalise(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Showing a configuration

/**
 * The configuration as JSON for /v1/config and the start-up log line, keyed by option name.
 * Config holds no secret (the credentials file's path, never its contents); Marathon URLs carry
 * no credentials (refused when parsing), and any userinfo is stripped here all the same.
 */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const value: unknown = name === 'marathon' ? config.marathon.map(stripUserinfo) : config[OPTIONS[name].field];
    out[name] = value ?? null;
  }
  return out;
}

function stripUserinfo(url: string): string {
  return url.replace(/^(https?:\/\/)[^/@]*@/i, '$1');
}
