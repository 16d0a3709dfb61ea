import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const run = (root: string) =>
  spawnSync(process.execPath, ['scripts/import-graph.mjs', root], { encoding: 'utf8' });

describe('import graph (scripts/import-graph.mjs)', () => {
  it('finds no import cycle in lambda/, lib/, scripts/ and bin/', () => {
    const result = run('.');
    expect(result.stdout).toContain('cycles: 0');
    expect(result.status).toBe(0);
  });

  it('reports a cycle, type-only imports included, and exits 1', () => {
    const root = mkdtempSync(join(tmpdir(), 'import-graph-'));
    try {
      mkdirSync(join(root, 'lambda', 'auth'), { recursive: true });
      writeFileSync(
        join(root, 'lambda', 'auth', 'a.ts'),
        "import type { B } from './b';\nexport type A = B;\n",
      );
      writeFileSync(
        join(root, 'lambda', 'auth', 'b.ts'),
        "export { type A } from './a';\nexport type B = 1;\n",
      );
      const result = run(root);
      expect(result.stdout).toContain('cycles: 1');
      expect(result.stdout).toMatch(/lambda\/auth\/[ab]\.ts <-> lambda\/auth\/[ab]\.ts/);
      expect(result.status).toBe(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
