import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withOptionsTable } from '../../scripts/readme-options.ts';
import { OPTION_NAMES, envName } from '../../src/config/load.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has the options table generated from the catalogue (run `npm run docs` after changing an option)', () => {
    expect(readme).toBe(withOptionsTable(readme));
  });

  it('names every option and its env var', () => {
    for (const name of OPTION_NAMES) {
      expect(readme).toContain(`--${name}`);
      expect(readme).toContain(envName(name));
    }
  });

  it('gives the two commands', () => {
    expect(readme).toContain('npx pacer demo');
    expect(readme).toContain('npm test');
  });
});
