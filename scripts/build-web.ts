/**
 * Builds the chat page's Markdown bundle (lambda/web/assets/markdown.js) from
 * lambda/web/markdown/render-reply.js with markdown-it and DOMPurify: one minified ES module
 * served from the page's own origin (CSP `script-src 'self'`). The bundle is committed, since
 * the page's assets are shipped as they are; `npm run build:web` rewrites it and
 * test/web/markdown-bundle.test.ts fails when it is stale.
 *
 * `--size` prints its minified and gzipped sizes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
export const MARKDOWN_ENTRY = resolve(ROOT, 'lambda/web/markdown/render-reply.js');
export const MARKDOWN_BUNDLE = resolve(ROOT, 'lambda/web/assets/markdown.js');

/** The bundle's text, built in memory. */
export async function buildMarkdownBundle(): Promise<string> {
  const result = await build({
    entryPoints: [MARKDOWN_ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'eof',
    write: false,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error('esbuild produced no output.');
  return file.text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await buildMarkdownBundle();
  writeFileSync(MARKDOWN_BUNDLE, text);
  if (process.argv.includes('--size')) {
    const bytes = readFileSync(MARKDOWN_BUNDLE);
    console.log(`markdown.js: ${bytes.length} bytes minified, ${gzipSync(bytes).length} bytes gzipped`);
  } else console.log(`wrote ${MARKDOWN_BUNDLE}`);
}
