import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_BUNDLING,
  FUNCTION_HANDLER_FILE,
  functionBuildOptions,
} from '../../lib/constructs/function-bundling';
import { naiveBuildOptions, SHIPPED_NODE_OPTIONS, shippedBuildOptions } from '../../scripts/bench/bundles';

const construct = readFileSync(new URL('../../lib/constructs/api-function.ts', import.meta.url), 'utf8');
const define = { __OMNICHAT_DEPLOY_CONFIG__: '{"environment":"dev"}' };

describe('bench bundles are built as lib/constructs/api-function.ts builds the functions', () => {
  const shipped = shippedBuildOptions('/repo/', 'chat', '/out', define);

  it('the construct stages its code with the call the bench builds its shipped bundle with', () => {
    expect(construct).toContain(
      'bundleFunction(projectRoot, this.entry, outputDir, this.define, this.assetsDir)',
    );
    expect(shipped).toEqual(functionBuildOptions('/repo/', 'chat', '/out', define));
  });

  it('builds the shipped bundle as ESM split into index.mjs and its chunks, minified, with the alias', () => {
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
