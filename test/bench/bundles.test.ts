import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTION_BUNDLING } from '../../lib/constructs/function-bundling';
import { naiveBuildOptions, SHIPPED_NODE_OPTIONS, shippedBuildOptions } from '../../scripts/bench/bundles';

const construct = readFileSync(new URL('../../lib/constructs/api-function.ts', import.meta.url), 'utf8');
const define = { __OMNICHAT_DEPLOY_CONFIG__: '{"environment":"dev"}' };

describe('bench bundles are built as lib/constructs/api-function.ts builds the functions', () => {
  const shipped = shippedBuildOptions('/repo/', 'chat', '/out', define);

  it('the construct takes every bundling option from lib/constructs/function-bundling.ts', () => {
    for (const option of ['target', 'minify', 'sourceMap', 'sourcesContent', 'mainFields', 'banner']) {
      expect(construct).toContain(`FUNCTION_BUNDLING.${option}`);
    }
    expect(construct).toContain('format: nodejs.OutputFormat.ESM');
    expect(FUNCTION_BUNDLING.format).toBe('esm');
    expect(construct).toContain('externalModules: [...FUNCTION_BUNDLING.external]');
    expect(construct).toContain('Object.entries(FUNCTION_BUNDLING.alias)');
  });

  it('the shipped bundle gets the same options', () => {
    expect(shipped).toMatchObject({
      format: 'esm',
      target: FUNCTION_BUNDLING.target,
      minify: FUNCTION_BUNDLING.minify,
      sourcemap: FUNCTION_BUNDLING.sourceMap,
      sourcesContent: FUNCTION_BUNDLING.sourcesContent,
      mainFields: [...FUNCTION_BUNDLING.mainFields],
      external: [],
      alias: FUNCTION_BUNDLING.alias,
      banner: { js: FUNCTION_BUNDLING.banner },
    });
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
