import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs on the pinned Node.js 24 (the `node` devDependency), not the machine\'s older Node', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
