/**
 * How every function is bundled, in one place: {@link functionBuildOptions} is the esbuild
 * call that {@link ApiFunction} runs when it stages a function's code and that the
 * benchmark's shipped bundle (scripts/bench/bundles.ts) is built with. Free of CDK imports
 * so the benchmark can read it without synthesizing anything.
 */
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, buildSync } from 'esbuild';

/**
 * Substitutions made while bundling (esbuild `alias`; a relative target resolves from the
 * project root, esbuild's working directory): the SDK's default credential chain becomes
 * its environment link (lambda/runtime/env-credentials.ts explains why that is all a
 * function uses).
 */
export const BUNDLE_ALIAS: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambda/runtime/env-credentials.ts',
};

/** The esbuild options of every function bundle. */
export const FUNCTION_BUNDLING = {
  format: 'esm',
  target: 'node22',
  minify: true,
  /**
   * A source map beside the bundle, mappings only, for decoding a stack trace offline. The
   * runtime does not load it (no `--enable-source-maps`; ApiFunction says why).
   */
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  /** ESM output still meets CommonJS dependencies that call require(). */
  banner: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
  /**
   * Nothing external: the Lambda runtime ships an AWS SDK v3, but pinning our own version
   * keeps the code tested here identical to the code that runs.
   */
  external: [] as string[],
  alias: BUNDLE_ALIAS,
  /**
   * Code splitting: the entry is `index.mjs` and what the SDK loads only with a dynamic
   * `import()` (the SSO token client, the browser user-agent parser, the event-stream
   * codec) goes into chunk files beside it, loaded when first imported. Without splitting,
   * esbuild has to keep every `import()` target inside the one file and wraps it, and every
   * module it imports, in a lazy initialiser (335 of them in chat's bundle: most of the SDK
   * core); V8 then parses each wrapped module twice, once skimming the file and once when
   * its initialiser first runs. `npm run bench` (chat cold load, paired runs on 2026-12-06):
   * 0.669 of naive as one file, 0.579 split. Lambda loads ES modules from the handler's
   * folder ("Designating a function handler as an ES module":
   * https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html#designate-es-module),
   * and the chunks sit in that folder.
   */
  splitting: true,
} as const;

/** The file Lambda loads: `index.mjs`, handler `index.handler`. */
export const FUNCTION_HANDLER_FILE = 'index.mjs';

/**
 * The esbuild options that build function `entry` (a file under lambda/functions/) into
 * `outdir`, with the environment's deploy configuration as `define`
 * (lib/config/deploy-config.ts `deployConfigDefine`). Run with esbuild's `build` or
 * `buildSync`; no plugins, so either works.
 */
export function functionBuildOptions(
  projectRoot: string,
  entry: string,
  outdir: string,
  define: Readonly<Record<string, string>>,
): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: { index: join(projectRoot, 'lambda/functions', `${entry}.ts`) },
    bundle: true,
    platform: 'node',
    target: FUNCTION_BUNDLING.target,
    format: FUNCTION_BUNDLING.format,
    splitting: FUNCTION_BUNDLING.splitting,
    outdir,
    outExtension: { '.js': '.mjs' },
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourceMap,
    sourcesContent: FUNCTION_BUNDLING.sourcesContent,
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    banner: { js: FUNCTION_BUNDLING.banner },
    external: [...FUNCTION_BUNDLING.external],
    alias: { ...FUNCTION_BUNDLING.alias },
    define: { ...define },
    logLevel: 'error',
  };
}

/**
 * Builds function `entry` into `outdir` ({@link functionBuildOptions}) and copies
 * `assetsDir` (a folder under the project root, e.g. the web page's files) beside it as
 * `assets/`. Synchronous: CDK's local bundling hook is.
 */
export function bundleFunction(
  projectRoot: string,
  entry: string,
  outdir: string,
  define: Readonly<Record<string, string>>,
  assetsDir?: string,
): void {
  buildSync(functionBuildOptions(projectRoot, entry, outdir, define));
  if (assetsDir !== undefined) {
    cpSync(resolve(projectRoot, assetsDir), join(outdir, 'assets'), { recursive: true });
  }
}
