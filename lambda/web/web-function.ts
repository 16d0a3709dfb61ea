/**
 * The web chat page (`GET /`, `GET /app/*`): static files served to a signed-in browser
 * session (the load balancer's Cognito login in AWS, the local login in local mode; the
 * claim check verifies the session's access token either way). The page talks to the API
 * with the same session, so it holds no token in script-reachable storage.
 *
 * The page runs under a strict CSP: its own script and stylesheet only, no inline code,
 * no eval, and requests only to its own origin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ALBResult } from 'aws-lambda';
import type { BaseDeps } from '../compose/handlers/base';
import { createApiHandler } from '../runtime/api-handler';
import { NotFoundError } from '../shared/errors';
import { SECURITY_HEADERS } from '../shared/http';

/** The page's Content-Security-Policy. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Security headers of the page and its assets: the API's, with the page's CSP. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'Content-Security-Policy': PAGE_CSP,
};

/** The files the page is made of, and their content types. */
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  // markdown-it + DOMPurify, bundled by scripts/build-web.ts (the page imports it).
  'markdown.js': 'text/javascript; charset=utf-8',
};

/** The page's files, read once (at cold start) from `dir`. */
export function loadAssets(dir: string): ReadonlyMap<string, string> {
  return new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

function file(name: string, body: string): ALBResult {
  return {
    statusCode: 200,
    statusDescription: '200 OK',
    isBase64Encoded: false,
    headers: { 'Content-Type': ASSETS[name] ?? 'application/octet-stream' },
    body,
  };
}

/** Options of {@link webFunction}. */
export interface WebDeps extends BaseDeps {
  readonly assets: ReadonlyMap<string, string>;
  /** Where "sign out" sends the browser: the local `/logout`, or `/app/logout` behind the ALB. */
  readonly signOutPath: string;
  /**
   * Behind the ALB: Cognito's logout endpoint (`https://<domain>/logout?client_id=...&logout_uri=...`).
   * `GET /app/logout` expires the load balancer's session cookie and sends the browser there,
   * which ends the Cognito session too (ALB docs: "Authenticate users using an ALB", logout).
   */
  readonly cognitoLogoutUrl?: string;
}

/** The web page's handler. */
export function webFunction(deps: WebDeps) {
  const page = (deps.assets.get('index.html') ?? '').replace('{{SIGN_OUT_PATH}}', deps.signOutPath);
  return createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
    edge: { securityHeaders: PAGE_HEADERS },
    routes: {
      'GET /': async () => ({
        statusCode: 302,
        statusDescription: '302 Found',
        isBase64Encoded: false,
        headers: { Location: '/app/chat' },
        body: '',
      }),
      'GET /app/*': async (call) => {
        const rest = call.request.path.slice('/app/'.length);
        if (rest === 'logout' && deps.cognitoLogoutUrl !== undefined) {
          return {
            statusCode: 302,
            statusDescription: '302 Found',
            isBase64Encoded: false,
            headers: {
              Location: deps.cognitoLogoutUrl,
              // Single-value headers (no multi-value mode on the target group): this expires
              // the first session cookie shard, which alone makes the session unusable.
              'Set-Cookie': 'AWSELBAuthSessionCookie-0=; Path=/; Secure; HttpOnly; Max-Age=-1',
            },
            body: '',
          };
        }
        if (rest.startsWith('assets/')) {
          const name = rest.slice('assets/'.length);
          const body = deps.assets.get(name);
          if (body === undefined || name === 'index.html') throw new NotFoundError();
          return file(name, body);
        }
        // Every other /app/ path is the single page (it routes itself).
        return file('index.html', page);
      },
    },
  });
}
