/**
 * The load balancer's part in local mode: HTTP in, ALB events to the *same* handlers the
 * functions run in AWS, ALB results out, with the listener's route and authentication
 * split (lib/constructs/edge/): `/healthz` open; `/api/*` with a Bearer token verified at
 * the edge first (authenticate-jwt); `x-api-key` straight to the API (the function checks
 * the key); `/api/*` from the web page through the session cookie (authenticate-cognito,
 * 401 when signed out); `/` and `/app/*` through the local login page; anything else 404.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import type { AccessTokenVerifier } from '../auth/token-verifier';
import { SECURITY_HEADERS } from '../shared/http';
import { LOCAL_TOKEN_SECONDS, type LocalIssuer } from './issuer';

/** A function as the load balancer invokes it. */
export type AlbTarget = (event: ALBEvent, context: Context) => Promise<ALBResult>;

/** The targets, named as the API functions are in the Api stack. */
export interface LocalTargets {
  readonly health: AlbTarget;
  readonly web?: AlbTarget;
  readonly chat: AlbTarget;
  readonly history: AlbTarget;
  readonly keys: AlbTarget;
  readonly admin?: AlbTarget;
}

/** Which API function serves a path (the listener rules' path conditions). */
export function apiTargetOf(path: string): keyof LocalTargets | undefined {
  if (path === '/api/v1/chat' || path === '/api/v1/models') return 'chat';
  if (path === '/api/v1/conversations' || path.startsWith('/api/v1/conversations/')) return 'history';
  if (path === '/api/v1/me' || path.startsWith('/api/v1/me/')) return 'history';
  if (path === '/api/v1/keys' || path.startsWith('/api/v1/keys/')) return 'keys';
  if (path.startsWith('/api/v1/admin/')) return 'admin';
  return undefined;
}

/** Largest request body the local edge reads (the WAF's body-size rule plays this part in AWS). */
const MAX_REQUEST_BYTES = 64 * 1024 + 1;
const SESSION_COOKIE = 'omnichat_session';

interface Session {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/** Options of {@link createLocalServer}. */
export interface LocalServerOptions {
  readonly targets: LocalTargets;
  readonly issuer: LocalIssuer;
  /** The same verifier the functions use, for the edge's authenticate-jwt step. */
  readonly verifier: AccessTokenVerifier;
  /** CSS of the local sign-in page (the web page's stylesheet), served at `/login.css`. */
  readonly loginStylesheet?: string;
  /** Called with each request's outcome (for the console). */
  readonly onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
}

function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit nothing more is kept; the rest is drained so the 413 can be answered.
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_REQUEST_BYTES ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function cookiesOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) out[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return out;
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  res.writeHead(status, headers);
  res.end(body);
}

function jsonError(res: ServerResponse, status: number, code: string, message: string): void {
  send(
    res,
    status,
    { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' },
    JSON.stringify({ error: { code, message, requestId: randomUUID() } }),
  );
}

/** The ALB event for a request, as a Lambda target receives it (single-value headers). */
export function toAlbEvent(
  req: IncomingMessage,
  body: Buffer,
  extraHeaders: Record<string, string> = {},
): ALBEvent {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const query: Record<string, string> = {};
  // ALB hands query values over still percent-encoded; so does this.
  for (const part of url.search.slice(1).split('&')) {
    if (part === '') continue;
    const index = part.indexOf('=');
    query[index === -1 ? part : part.slice(0, index)] = index === -1 ? '' : part.slice(index + 1);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value;
    else if (Array.isArray(value)) headers[name] = value.join(', ');
  }
  // The edge owns these: a client must not be able to present them.
  delete headers['x-amzn-oidc-accesstoken'];
  delete headers['x-amzn-oidc-data'];
  delete headers['x-amzn-oidc-identity'];
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
  headers['x-forwarded-proto'] = 'http';
  const isText = body.length === 0 || /^(application\/json|text\/)/.test(headers['content-type'] ?? '');
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:local:000000000000:targetgroup/local/0' },
    },
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    queryStringParameters: query,
    headers: { ...headers, ...extraHeaders },
    body: isText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !isText,
  };
}

/** The local edge server. */
export function createLocalServer(options: LocalServerOptions): Server {
  const sessions = new Map<string, Session>();

  const invoke = async (
    name: keyof LocalTargets,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    extraHeaders: Record<string, string> = {},
  ): Promise<number> => {
    const target = options.targets[name];
    if (!target) {
      jsonError(res, 404, 'not_found', 'Not found.');
      return 404;
    }
    const result = await target(toAlbEvent(req, body, extraHeaders), lambdaContext(name));
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(result.headers ?? {})) headers[key] = String(value);
    const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
    send(res, result.statusCode, headers, payload);
    return result.statusCode;
  };

  const sessionOf = (req: IncomingMessage): Session | undefined => {
    const id = cookiesOf(req)[SESSION_COOKIE];
    const session = id === undefined ? undefined : sessions.get(id);
    if (session && session.expiresAt > Date.now()) return session;
    if (id !== undefined) sessions.delete(id);
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    // DNS rebinding: a page on evil.example that resolves to 127.0.0.1 would send its own
    // Host; only the names this server is reached by locally are served.
    const port = req.socket.localPort;
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      jsonError(res, 400, 'bad_request', 'Unknown host.');
      return 400;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    if (body === 'too_large') {
      jsonError(res, 413, 'payload_too_large', 'The request body is too large.');
      return 413;
    }

    if (path === '/healthz') return invoke('health', req, res, body);

    if (path === '/login' && method === 'GET') return loginPage(res, url.searchParams.has('failed'));
    if (path === '/login.css' && method === 'GET') {
      send(
        res,
        200,
        { ...SECURITY_HEADERS, 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'no-cache' },
        options.loginStylesheet ?? '',
      );
      return 200;
    }
    if (path === '/login' && method === 'POST') {
      // SameSite=Strict cookies plus an Origin check: a cross-site form cannot sign anyone in.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}`) {
        jsonError(res, 403, 'forbidden', 'Cross-site sign-in refused.');
        return 403;
      }
      const form = new URLSearchParams(body.toString('utf8'));
      const user = options.issuer.authenticate(form.get('email') ?? '', form.get('password') ?? '');
      if (!user) {
        send(res, 303, { ...SECURITY_HEADERS, Location: '/login?failed=1' }, '');
        return 303;
      }
      const id = randomBytes(32).toString('base64url');
      sessions.set(id, {
        accessToken: options.issuer.mintAccessToken(user),
        expiresAt: Date.now() + LOCAL_TOKEN_SECONDS * 1000,
      });
      send(
        res,
        303,
        {
          ...SECURITY_HEADERS,
          Location: '/app/chat',
          'Set-Cookie': `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${LOCAL_TOKEN_SECONDS}`,
        },
        '',
      );
      return 303;
    }
    // A plain link signs out (GET); SameSite=Strict keeps another site from doing it for you.
    if (path === '/logout' && (method === 'GET' || method === 'POST')) {
      const id = cookiesOf(req)[SESSION_COOKIE];
      if (id !== undefined) sessions.delete(id);
      send(
        res,
        303,
        {
          ...SECURITY_HEADERS,
          Location: '/login',
          'Set-Cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
        },
        '',
      );
      return 303;
    }

    if (path.startsWith('/api/')) {
      const target = apiTargetOf(path);
      if (!target) {
        jsonError(res, 404, 'not_found', 'Not found.');
        return 404;
      }
      const authorization = req.headers.authorization;
      if (authorization !== undefined && /^Bearer\s/i.test(authorization)) {
        // authenticate-jwt: the edge refuses a bad token before any function runs.
        try {
          options.verifier.verify(authorization.replace(/^Bearer\s+/i, ''));
        } catch {
          send(
            res,
            401,
            {
              ...SECURITY_HEADERS,
              'Content-Type': 'application/json; charset=utf-8',
              'WWW-Authenticate': 'Bearer error="invalid_token"',
            },
            JSON.stringify({
              error: { code: 'unauthenticated', message: 'Sign in first.', requestId: randomUUID() },
            }),
          );
          return 401;
        }
        return invoke(target, req, res, body);
      }
      // As the listener rule: only a header that looks like one of our keys routes as a key.
      const apiKey = req.headers['x-api-key'];
      if (typeof apiKey === 'string' && apiKey.toLowerCase().startsWith('ak_')) {
        return invoke(target, req, res, body);
      }
      const session = sessionOf(req);
      if (!session) {
        jsonError(res, 401, 'unauthenticated', 'Sign in first.');
        return 401;
      }
      return invoke(target, req, res, body, { 'x-amzn-oidc-accesstoken': session.accessToken });
    }

    if (path === '/' || path === '/app' || path.startsWith('/app/')) {
      const session = sessionOf(req);
      if (!session) {
        send(res, 302, { ...SECURITY_HEADERS, Location: '/login' }, '');
        return 302;
      }
      return invoke('web', req, res, body, { 'x-amzn-oidc-accesstoken': session.accessToken });
    }

    jsonError(res, 404, 'not_found', 'Not found.');
    return 404;
  };

  return createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .then((status) =>
        options.onRequest?.({
          method: req.method ?? '',
          path: req.url ?? '',
          status,
          ms: Date.now() - started,
        }),
      )
      .catch(() => {
        if (!res.headersSent) jsonError(res, 502, 'bad_gateway', 'The target failed.');
        else res.destroy();
      });
  });
}

const LOGIN_CSP =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The local sign-in form: no script at all, styled by the page's own stylesheet. */
function loginPage(res: ServerResponse, failed: boolean): number {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - OmniChat (local)</title>
<link rel="stylesheet" href="/login.css">
</head>
<body class="login">
<main>
<h1>OmniChat <span class="badge">local mode</span></h1>
${failed ? '<p class="error" role="alert">Wrong e-mail or password.</p>' : ''}
<form method="post" action="/login">
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required minlength="14">
<button type="submit">Sign in</button>
</form>
<p class="note">Local mode signs in with a password only; in AWS, Cognito's managed login requires MFA.</p>
</main>
</body>
</html>`;
  send(
    res,
    200,
    {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': LOGIN_CSP,
      // no-referrer makes browsers send `Origin: null` with the form's POST, which the
      // Origin check must refuse; same-origin sends the real origin to us and nothing elsewhere.
      'Referrer-Policy': 'same-origin',
    },
    html,
  );
  return 200;
}
