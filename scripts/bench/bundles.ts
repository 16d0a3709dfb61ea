/**
 * The function bundles the benchmark loads, built with esbuild's JS API:
 *
 * - **shipped**: the options every function is deployed with, read from the one place
 *   lib/constructs/api-function.ts reads them too (lib/constructs/function-bundling.ts):
 *   ESM, target node22, platform node, minified, source map beside the bundle (without
 *   sources content), main fields `module,main`, the createRequire banner, no externals, the
 *   credential-chain alias, and the environment's deploy configuration as `define`
 *   (lib/config/deploy-config.ts `deployConfigDefine`).
 * - **naive**: the reference the targets compare against: one esbuild call, bundle,
 *   platform node, CommonJS, no minification and no tuning. It gets the same `define` (the
 *   code refuses to load without its deploy configuration) and, for the web function only,
 *   `import.meta.url` as a constant, because CommonJS output has no import.meta.
 *
 * The web function's page assets are copied beside both bundles, as the construct's
 * afterBundling hook does.
 */
import { cpSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../../lib/constructs/function-bundling';

/** The function entries under lambda/functions/, in report order. */
export const FUNCTION_ENTRIES = [
  'chat',
  'history',
  'keys',
  'admin',
  'web',
  'health',
  'audit-archiver',
] as const;
/** One function entry. */
export type FunctionEntry = (typeof FUNCTION_ENTRIES)[number];

/** Functions whose bundle gets the page assets (ApiFunction `assetsDir`). */
const ASSETS_DIR: Partial<Record<FunctionEntry, string>> = { web: 'lambda/web/assets' };

/** NODE_OPTIONS the construct sets on every function: none (source maps are not loaded at run time). */
export const SHIPPED_NODE_OPTIONS = '';
/** NODE_OPTIONS of the comparison run that loads the source map (the cost of turning it on). */
export const SOURCE_MAP_NODE_OPTIONS = '--enable-source-maps';

/** esbuild options of the shipped bundle, as NodejsFunction gets them (see the module comment). */
export function shippedBuildOptions(
  projectRoot: string,
  entry: FunctionEntry,
  outdir: string,
  define: Readonly<Record<string, string>>,
): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [join(projectRoot, 'lambda/functions', `${entry}.ts`)],
    bundle: true,
    target: FUNCTION_BUNDLING.target,
    platform: 'node',
    format: FUNCTION_BUNDLING.format,
    outfile: join(outdir, 'index.mjs'),
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourceMap,
    sourcesContent: FUNCTION_BUNDLING.sourcesContent,
    external: [...FUNCTION_BUNDLING.external],
    alias: { ...FUNCTION_BUNDLING.alias },
    define: { ...define },
    logLevel: 'error',
    banner: { js: FUNCTION_BUNDLING.banner },
    mainFields: [...FUNCTION_BUNDLING.mainFields],
  };
}

/** esbuild options of the naive reference bundle. */
export function naiveBuildOptions(
  projectRoot: string,
  entry: FunctionEntry,
  outdir: string,
  define: Readonly<Record<string, string>>,
): BuildOptions {
  const outfile = join(outdir, 'index.cjs');
  return {
    absWorkingDir: projectRoot,
    entryPoints: [join(projectRoot, 'lambda/functions', `${entry}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    define: {
      ...define,
      ...(ASSETS_DIR[entry] ? { 'import.meta.url': JSON.stringify(pathToFileURL(outfile).href) } : {}),
    },
    logLevel: 'error',
  };
}

/** A built bundle. */
export interface BuiltBundle {
  readonly file: string;
  readonly format: 'esm' | 'cjs';
  /** Bytes of the code file (the source map, when there is one, is not counted). */
  readonly bytes: number;
  /** Bytes of the source map beside it (0 when none). */
  readonly sourceMapBytes: number;
  /** The NODE_OPTIONS the function runs with. */
  readonly nodeOptions: string;
}

/** Both bundles of one function. */
export interface BundlePair {
  readonly entry: FunctionEntry;
  readonly shipped: BuiltBundle;
  readonly naive: BuiltBundle;
}

const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

async function buildOne(
  projectRoot: string,
  entry: FunctionEntry,
  options: BuildOptions,
  outdir: string,
  nodeOptions: string,
): Promise<BuiltBundle> {
  mkdirSync(outdir, { recursive: true });
  await build(options);
  const assets = ASSETS_DIR[entry];
  if (assets) cpSync(resolve(projectRoot, assets), join(outdir, 'assets'), { recursive: true });
  const file = options.outfile as string;
  return {
    file,
    format: options.format === 'esm' ? 'esm' : 'cjs',
    bytes: sizeOf(file),
    sourceMapBytes: sizeOf(`${file}.map`),
    nodeOptions,
  };
}

/** Builds the shipped and the naive bundle of each entry under `workDir`. */
export async function buildBundles(
  projectRoot: string,
  workDir: string,
  define: Readonly<Record<string, string>>,
  entries: readonly FunctionEntry[] = FUNCTION_ENTRIES,
): Promise<BundlePair[]> {
  const pairs: BundlePair[] = [];
  for (const entry of entries) {
    const shippedDir = join(workDir, 'shipped', entry);
    const naiveDir = join(workDir, 'naive', entry);
    pairs.push({
      entry,
      shipped: await buildOne(
        projectRoot,
        entry,
        shippedBuildOptions(projectRoot, entry, shippedDir, define),
        shippedDir,
        SHIPPED_NODE_OPTIONS,
      ),
      naive: await buildOne(
        projectRoot,
        entry,
        naiveBuildOptions(projectRoot, entry, naiveDir, define),
        naiveDir,
        '',
      ),
    });
  }
  return pairs;
}
