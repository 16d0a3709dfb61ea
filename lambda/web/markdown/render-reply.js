// Markdown rendering of model replies for the chat page, bundled by scripts/build-web.ts into
// lambda/web/assets/markdown.js (the page has no build step of its own; the bundle is
// committed, and test/web/markdown-bundle.test.ts fails when it is stale).
//
// Two vetted libraries, each with its own job: markdown-it parses (raw HTML disabled, so
// `<img onerror>` in a reply stays text; its link validator drops `javascript:`, `vbscript:`,
// `file:` and `data:` URLs), and DOMPurify sanitizes what it produced (defense in depth, and
// the allow-list below). Images are off: a reply must not make the browser fetch anything
// (the CSP would block it and log a violation). Links open in a new tab with
// rel="noopener noreferrer". No inline style survives (the CSP forbids it: markdown-it's table
// alignment is dropped), and class names only as `language-*` on code.

import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';

const markdown = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
// Only links written with a scheme (`https://...`): no guessing that `file.py` is a domain.
markdown.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
markdown.disable('image');

const ALLOWED_TAGS = [
  'a',
  'blockquote',
  'br',
  'code',
  'del',
  'em',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'li',
  'ol',
  'p',
  'pre',
  's',
  'strong',
  'table',
  'tbody',
  'td',
  'th',
  'thead',
  'tr',
  'ul',
];
const SAFE_LINK = /^(?:https?:|mailto:)/i;
const LANGUAGE_CLASS = /^language-[\w+#.-]{1,40}$/;

let purifier;
function sanitizer() {
  if (purifier) return purifier;
  purifier = DOMPurify(window);
  purifier.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A') {
      const href = node.getAttribute('href') ?? '';
      if (!SAFE_LINK.test(href.trim())) node.removeAttribute('href');
      node.setAttribute('rel', 'noopener noreferrer');
      node.setAttribute('target', '_blank');
    }
    if (
      node.hasAttribute?.('class') &&
      !(node.tagName === 'CODE' && LANGUAGE_CLASS.test(node.getAttribute('class')))
    ) {
      node.removeAttribute('class');
    }
  });
  return purifier;
}

/** The reply as a sanitized DOM fragment (headings, lists, tables, links, code blocks). */
export function renderReply(text) {
  const html = markdown.render(String(text));
  return sanitizer().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ['href', 'title', 'class', 'start', 'target', 'rel'],
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}
