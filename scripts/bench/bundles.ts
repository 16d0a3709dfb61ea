/**
 * The function bundles the benchmark loads, built with esbuild's JS API:
 *
 * - **shipped**: built by the same call that stages every function's code in
 *   lib/constructs/api-function.ts (`bundleFunction`, lib/constructs/function-bundling.ts):
 *   ESM split into `index.mjs` and the chunks it imports, target node22, platform node,
 *   minified, source maps beside the files (without sources content), main fields
 *   `module,main`, the createRequire banner, no externals, the credential-chain alias, and
 *   the environment's deploy configuration as `define` (lib/config/deploy-config.ts
 *   `deployConfigDefine`).
 * - **naive**: the reference the targets compare against: one esbuild call, bundle,
 *   platform node, CommonJS, no minification and no tuning. It gets the same `define` (the
 *   code refuses to load without its deploy configuration) and, for the web function only,
 *   `import.meta.url` as a constant, because CommonJS output has no import.meta.
 *
 * The web function's page assets are copied beside both bundles, as the construct does.
 */
import { cpSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { bundleFunction, FUNCTION_HANDLER_FILE } from '../../lib/constructs/function-bundling';

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
  /** Bytes of code: the file and, for a split bundle, its chunks (source maps not counted). */
  readonly bytes: number;
  /** Bytes of the source maps beside them (0 when none). */
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

/** Bytes of the files in `dir` whose names end with `suffix` (a split bundle is several). */
function bytesOf(dir: string, suffix: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

function builtBundle(file: string, format: 'esm' | 'cjs', nodeOptions: string): BuiltBundle {
  const dir = dirname(file);
  const code = format === 'esm' ? '.mjs' : '.cjs';
  return {
    file,
    format,
    bytes: bytesOf(dir, code),
    sourceMapBytes: bytesOf(dir, `${code}.map`),
    nodeOptions,
  };
}

async function buildNaive(
  projectRoot: string,
  entry: FunctionEntry,
  outdir: string,
  define: Readonly<Record<string, string>>,
): Promise<BuiltBundle> {
  mkdirSync(outdir, { recursive: true });
  const options = naiveBuildOptions(projectRoot, entry, outdir, define);
  await build(options);
  const assets = ASSETS_DIR[entry];
  if (assets) cpSync(resolve(projectRoot, assets), join(outdir, 'assets'), { recursive: true });
  return builtBundle(options.outfile as string, 'cjs', '');
}

function shipped(
  projectRoot: string,
  entry: FunctionEntry,
  outdir: string,
  define: Readonly<Record<string, string>>,
): BuiltBundle {
  bundleFunction(projectRoot, entry, outdir, define, ASSETS_DIR[entry]);
  return builtBundle(join(outdir, FUNCTION_HANDLER_FILE), 'esm', SHIPPED_NODE_OPTIONS);
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
      shipped: shipped(projectRoot, entry, shippedDir, define),
      naive: await buildNaive(projectRoot, entry, naiveDir, define),
    });
  }
  return pairs;
}
