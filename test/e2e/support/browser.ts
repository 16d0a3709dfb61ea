/**
 * Headless Chromium for the browser suite (Debian's `chromium` through puppeteer-core),
 * a console watcher that catches errors and CSP violations, and the axe-core check.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where Chromium is: `CHROMIUM_PATH`, else `which chromium`; a clear install hint otherwise. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (path !== '') return path;
    } catch {
      // Not on PATH under this name.
    }
  }
  throw new Error(
    'Chromium was not found. Install it (Debian/Ubuntu: `sudo apt-get update && sudo apt-get install -y chromium`) ' +
      'or set CHROMIUM_PATH to a Chromium or Chrome binary, then rerun `npm run test:e2e`.',
  );
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  // Chromium refuses to start its sandbox as root (CI containers run as root).
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...args, '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}

/** Everything a page printed that is not expected. */
export interface ConsoleWatch {
  readonly entries: string[];
  /** Console errors, page errors and CSP violations, minus expected failed API responses. */
  unexpected(): string[];
}

const FAILED_LOAD = /^Failed to load resource: the server responded with a status of (\d{3})/;

/**
 * Watches a page's console. Chromium logs "Failed to load resource" for every HTTP error
 * answer, including the API's deliberate 4xx (guardrail block, rate limit, deleted
 * conversation, ended session): those are expected only when the API really answered that
 * status during the test. Anything else at error level, any uncaught exception and any
 * CSP violation is unexpected.
 */
export async function watchConsole(page: Page, label: string): Promise<ConsoleWatch> {
  const entries: string[] = [];
  const apiErrorStatuses = new Set<number>();
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' || /Content Security Policy|Refused to/i.test(text)) {
      entries.push(`${label} console.${message.type()}: ${text} (${message.location().url ?? ''})`);
    }
  });
  page.on('pageerror', (error) => {
    entries.push(`${label} uncaught: ${error instanceof Error ? error.message : String(error)}`);
  });
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith('/api/') && response.status() >= 400) apiErrorStatuses.add(response.status());
  });
  // Injected by the DevTools protocol, which the page's CSP does not govern; it reports
  // every violation the page's own code or markup causes.
  await page.evaluateOnNewDocument(
    `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));`,
  );
  return {
    entries,
    unexpected: () =>
      entries.filter((entry) => {
        const text = entry.slice(entry.indexOf(': ') + 2);
        const failed = FAILED_LOAD.exec(text);
        if (!failed) return true;
        // The browser's own favicon probe (the login page has no icon) is not the page's doing.
        if (failed[1] === '404' && /\/favicon\.ico\)$/.test(entry)) return false;
        return !(apiErrorStatuses.has(Number(failed[1])) && /\/api\//.test(entry));
      }),
  };
}

/** One axe-core finding, trimmed for the report. */
export interface AxeFinding {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: string[];
}

/** What axe reported for one page state. */
export interface AxeReport {
  readonly name: string;
  readonly url: string;
  readonly violations: AxeFinding[];
  readonly passes: number;
  readonly incomplete: number;
}

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface RawAxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
  passes: unknown[];
  incomplete: unknown[];
}

/**
 * Runs axe-core (WCAG 2.1 A/AA and best practices) on a page.
 *
 * The page's CSP allows only its own scripts, so axe cannot be injected into it as is: the
 * caller must pass a page that had `setBypassCSP(true)` before it loaded, used for this
 * check only. Every other page of the suite keeps the CSP enforced.
 */
export async function runAxe(page: Page, name: string): Promise<AxeReport> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const results = (await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }, resultTypes: ['violations'] })`,
  )) as RawAxeResults;
  return {
    name,
    url: page.url(),
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => JSON.stringify(n.target)),
    })),
    passes: results.passes.length,
    incomplete: results.incomplete.length,
  };
}
