/**
 * The function bundles the benchmark loads, built with esbuild's JS API:
 *
 * - **shipped**: exactly the options lib/constructs/api-function.ts gives NodejsFunction
 *   (which runs `esbuild --bundle ENTRY` with them): ESM, target node22, platform node,
 *   minified, source map beside the bundle (without sources content), main fields `module,main`, the createRequire
 *   banner, no externals, and the environment's deploy configuration as `define`
 *   (lib/config/deploy-config.ts `deployConfigDefine`). Keep the two in step.
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

/** The construct's banner: ESM output still meets CommonJS dependencies that call require(). */
export const SHIPPED_BANNER =
  "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);";

/** esbuild options of the shipped bundle, as NodejsFunction passes them (see the module comment). */
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
    target: 'node22',
    platform: 'node',
    format: 'esm',
    outfile: join(outdir, 'index.mjs'),
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: [],
    define: { ...define },
    logLevel: 'error',
    banner: { js: SHIPPED_BANNER },
    mainFields: ['module', 'main'],
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
