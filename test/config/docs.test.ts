import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  OPTION_NAMES,
  OPTIONS,
  SUBCOMMANDS,
  envName,
  helpText,
  loadConfig,
  optionsMarkdownTable,
  redactedConfig,
} from '../../src/config/load.ts';

const examplePath = fileURLToPath(new URL('../../config/pacer.example.yaml', import.meta.url));
const fileOptions = OPTION_NAMES.filter((n) => OPTIONS[n].inFile);

describe('config/pacer.example.yaml', () => {
  const text = readFileSync(examplePath, 'utf8');

  it('loads, and every value in it is the default', () => {
    const fromExample = loadConfig(['--config', examplePath], {});
    const defaults = loadConfig([], {});
    expect({ ...redactedConfig(fromExample), config: null }).toEqual(redactedConfig(defaults));
    expect(fromExample.warnings).toEqual([]);
  });

  it('sets every option the file can hold, as a live key (not commented out)', () => {
    const data: unknown = parse(text);
    expect(typeof data).toBe('object');
    expect(Object.keys(data ?? {}).sort()).toEqual([...fileOptions].sort());
  });

  it('documents every key with a comment right above it', () => {
    const lines = text.split('\n');
    for (const name of fileOptions) {
      const at = lines.findIndex((l) => l.startsWith(`${name}:`));
      expect(at, name).toBeGreaterThan(0);
      expect(lines[at - 1], `comment above ${name}`).toMatch(/^# \S/);
    }
  });

  it('explains that config itself is not a file key', () => {
    expect(text).toMatch(/`config` itself can only be given as a flag or env var/);
  });
});

describe('helpText', () => {
  const help = helpText();

  it('starts with the usage line and lists the subcommands', () => {
    expect(help.split('\n')[0]).toBe('Usage: pacer [options]');
    for (const name of Object.keys(SUBCOMMANDS)) expect(help).toMatch(new RegExp(`^ +pacer ${name} +\\S`, 'm'));
    expect(help).toContain('-h, --help');
    expect(help).toContain('-V, --version');
  });

  it('lists every option with its placeholder, help, default and env var', () => {
    for (const name of OPTION_NAMES) {
      const spec = OPTIONS[name];
      const flag = spec.kind === 'bool' ? `--[no-]${name}` : `--${name} ${spec.placeholder}`;
      const line = help.split('\n').findIndex((l) => l.startsWith(`  ${flag} `));
      expect(line, flag).toBeGreaterThan(0);
      const [first = '', second = ''] = help.split('\n').slice(line, line + 2);
      expect(first).toContain(spec.help);
      expect(second).toContain(`env: ${envName(name)}`);
      expect(second).toContain(`default: ${spec.defaultText === '' ? 'none' : spec.defaultText}`);
      if (spec.repeatable) expect(second).toContain('repeatable');
    }
  });

  it('aligns the descriptions in one column', () => {
    const optionLines = help.split('\n').slice(help.split('\n').indexOf('Options:') + 1).filter((l) => l !== '');
    expect(optionLines.length).toBe(2 * OPTION_NAMES.length + 2);
    const columns = new Set(
      optionLines.map((l) => {
        const m = /^( {2}-\S*(?: \S+)* {2,}| +)\S/.exec(l);
        return m?.[1]?.length;
      }),
    );
    expect(columns.size).toBe(1);
  });

  it('shows the defaults from DESIGN.md', () => {
    expect(help).toContain('default: http://marathon.mesos:8080');
    expect(help).toMatch(/--\[no-\]health-check +.*\n +default: on;/);
    expect(help).toMatch(/--\[no-\]strict-mode +.*\n +default: off;/);
  });
});

describe('optionsMarkdownTable', () => {
  const table = optionsMarkdownTable();
  const rows = table.trim().split('\n');

  it('has a header and one row per option, five cells each', () => {
    expect(rows[0]).toBe('| option | env var | YAML key | default | meaning |');
    expect(rows.length).toBe(2 + OPTION_NAMES.length);
    for (const row of rows.slice(2)) expect(row.split(/(?<!\\)\|/).length).toBe(7);
  });

  it('names each option, env var and YAML key', () => {
    for (const [i, name] of OPTION_NAMES.entries()) {
      const row = rows[i + 2] ?? '';
      expect(row).toMatch(new RegExp(`^\\| \`--(\\[no-\\])?${name}[ \`]`));
      expect(row).toContain(`\`${envName(name)}\``);
      expect(row).toContain(OPTIONS[name].inFile ? `| \`${name}\` |` : '| – |');
    }
  });

  it('matches the DESIGN.md rows it extends', () => {
    expect(table).toContain('| `--marathon URL[,URL…]` (repeatable) | `PACER_MARATHON` | `marathon` | `http://marathon.mesos:8080` |');
    expect(table).toContain('| `--group NAME` (repeatable) | `PACER_GROUP` | `group` | `external` |');
    expect(table).toContain('| `--dns-port N` | `PACER_DNS_PORT` | `dns-port` | `53` |');
  });
});
