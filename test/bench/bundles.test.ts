import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  naiveBuildOptions,
  SHIPPED_BANNER,
  SHIPPED_NODE_OPTIONS,
  shippedBuildOptions,
} from '../../scripts/bench/bundles';

const construct = readFileSync(new URL('../../lib/constructs/api-function.ts', import.meta.url), 'utf8');
const define = { __OMNICHAT_DEPLOY_CONFIG__: '{"environment":"dev"}' };

describe('bench bundles mirror lib/constructs/api-function.ts', () => {
  const shipped = shippedBuildOptions('/repo/', 'chat', '/out', define);

  it.each([
    ['format ESM', 'format: nodejs.OutputFormat.ESM', shipped.format === 'esm'],
    ['target node22', "target: 'node22'", shipped.target === 'node22'],
    ['minified', 'minify: true', shipped.minify === true],
    ['source map', 'sourceMap: true', shipped.sourcemap === true],
    ['no sources content in the map', 'sourcesContent: false', shipped.sourcesContent === false],
    ['main fields', "mainFields: ['module', 'main']", shipped.mainFields?.join() === 'module,main'],
    ['no externals', 'externalModules: []', shipped.external?.length === 0],
  ])('%s', (_name, constructText, benchMatches) => {
    expect(construct).toContain(constructText);
    expect(benchMatches).toBe(true);
  });

  it('uses the same banner and NODE_OPTIONS', () => {
    expect(construct).toContain(`banner: ${JSON.stringify(SHIPPED_BANNER)}`);
    if (SHIPPED_NODE_OPTIONS === '') expect(construct).not.toContain('NODE_OPTIONS:');
    else expect(construct).toContain(`NODE_OPTIONS: '${SHIPPED_NODE_OPTIONS}'`);
    expect(shipped.banner?.js).toBe(SHIPPED_BANNER);
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
