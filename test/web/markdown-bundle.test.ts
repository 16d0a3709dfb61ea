import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAssets } from '../../lambda/web/web-function';
import { buildMarkdownBundle, MARKDOWN_BUNDLE } from '../../scripts/build-web';

describe('the chat page Markdown bundle', () => {
  it('is what scripts/build-web.ts builds from the pinned libraries (run `npm run build:web` if not)', async () => {
    expect(readFileSync(MARKDOWN_BUNDLE, 'utf8')).toBe(await buildMarkdownBundle());
  }, 60_000);

  it('needs no eval (the CSP has no unsafe-eval) and names its libraries and versions', () => {
    const bundle = readFileSync(MARKDOWN_BUNDLE, 'utf8');
    expect(bundle).not.toMatch(/new Function|\beval\(/);
    expect(bundle).toContain('DOMPurify 3.5.0');
    expect(bundle).toContain('markdown-it 15.0.3');
  });

  it('is served with the page assets', () => {
    const assets = loadAssets(new URL('../../lambda/web/assets/', import.meta.url).pathname);
    expect(assets.get('markdown.js')?.length).toBeGreaterThan(10_000);
  });
});
