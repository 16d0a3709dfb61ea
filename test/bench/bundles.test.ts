import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deployConfigDefine } from '../../lib/config/deploy-config';
import {
  bundleFunction,
  FUNCTION_BUNDLING,
  FUNCTION_HANDLER_FILE,
  functionBuildOptions,
} from '../../lib/constructs/function-bundling';
import { buildBundles, naiveBuildOptions, SHIPPED_NODE_OPTIONS } from '../../scripts/bench/bundles';
import { configOf } from '../support/synth';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

const construct = readFileSync(new URL('../../lib/constructs/api-function.ts', import.meta.url), 'utf8');
const define = deployConfigDefine(configOf('dev'));

describe('bench bundles are built as lib/constructs/api-function.ts builds the functions', () => {
  const shipped = functionBuildOptions('/repo/', 'chat', '/out', define);

  it('builds the shipped bundle with bundleFunction, the call ApiFunction stages code with', async () => {
    const root = mkdtempSync(join(tmpdir(), 'omnichat-bench-bundles-'));
    try {
      const [pair] = await buildBundles(projectRoot, join(root, 'bench'), define, ['health']);
      bundleFunction(projectRoot, 'health', join(root, 'direct'), define);
      expect(pair?.shipped.file).toBe(join(root, 'bench', 'shipped', 'health', FUNCTION_HANDLER_FILE));
      expect(readFileSync(pair?.shipped.file ?? '', 'utf8')).toBe(
        readFileSync(join(root, 'direct', FUNCTION_HANDLER_FILE), 'utf8'),
      );
      expect(pair?.shipped.bytes).toBe(statSync(join(root, 'direct', FUNCTION_HANDLER_FILE)).size);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('the function build is ESM split into index.mjs and its chunks, minified, with the alias', () => {
    expect(shipped).toMatchObject({
      format: 'esm',
      splitting: true,
      outdir: '/out',
      entryPoints: { index: '/repo/lambda/functions/chat.ts' },
      outExtension: { '.js': '.mjs' },
      target: FUNCTION_BUNDLING.target,
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      external: [],
      alias: FUNCTION_BUNDLING.alias,
      banner: { js: FUNCTION_BUNDLING.banner },
    });
    expect(FUNCTION_HANDLER_FILE).toBe('index.mjs');
  });

  it('runs with the NODE_OPTIONS of the construct (none: source maps are not loaded)', () => {
    expect(SHIPPED_NODE_OPTIONS).toBe('');
    expect(construct).not.toContain('NODE_OPTIONS:');
  });

  it('carries the deploy configuration in both bundles', () => {
    expect(shipped.define).toEqual(define);
    expect(naiveBuildOptions('/repo/', 'chat', '/out', define).define).toEqual(define);
  });

  it('builds the naive reference untuned: CommonJS, not minified, default main fields', () => {
    const naive = naiveBuildOptions('/repo/', 'chat', '/out', define);
    expect(naive).toMatchObject({ bundle: true, platform: 'node', format: 'cjs' });
    expect(naive.minify).toBeUndefined();
    expect(naive.mainFields).toBeUndefined();
    expect(naive.treeShaking).toBeUndefined();
    expect(naive.sourcemap).toBeUndefined();
  });

  it('gives only the web bundle a constant import.meta.url (its assets sit beside it)', () => {
    expect(naiveBuildOptions('/repo/', 'web', '/out', define).define?.['import.meta.url']).toBe(
      JSON.stringify('file:///out/index.cjs'),
    );
    expect(naiveBuildOptions('/repo/', 'chat', '/out', define).define?.['import.meta.url']).toBeUndefined();
  });
});
