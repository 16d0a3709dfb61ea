/**
 * How every function is bundled, in one place: {@link ApiFunction} hands these options to
 * NodejsFunction (which runs `esbuild --bundle ENTRY` with them) and the benchmark's shipped
 * bundle (scripts/bench/bundles.ts) is built from the same object. Free of CDK imports so
 * the benchmark can read it without synthesizing anything.
 */

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
} as const;
