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
import { actorOf, type RequestOrigin } from '../audit/actor';
import { type OwnerDirectoryWriter, syncOwner } from '../auth/owner-directory';
import { type AccessTokenVerifier, TokenRejectedError } from '../auth/token-verifier';
import type { ChatStreamHandler } from '../compose/handlers/chat-stream-contract';
import type { AuditSink } from '../runtime/audit-sink';
import { SECURITY_HEADERS } from '../shared/http';
import { acceptsEventStream } from '../shared/sse';
import { LOCAL_TOKEN_SECONDS, type LocalIssuer } from './issuer';
import { SignInThrottle } from './sign-in-throttle';

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

/** Most sessions held at once; the oldest go first beyond it (expired ones are swept before). */
export const MAX_SESSIONS = 10_000;

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
  /**
   * The audit writer: sign-ins (AUTH_SIGN_IN) and the edge's own rejections (AUTHN_FAILURE)
   * are recorded through it, fail closed (503 when the record cannot be written). In AWS the
   * load balancer rejects those before any function runs; they are in its access logs and
   * the WAF logs instead.
   */
  readonly audit?: AuditSink;
  /** The owner directory a sign-in records the user in (the pre-token-generation trigger's part). */
  readonly directory?: OwnerDirectoryWriter;
  /** Sign-in throttling. @default a {@link SignInThrottle} with its defaults */
  readonly throttle?: SignInThrottle;
  /** Most sessions held. @default MAX_SESSIONS */
  readonly maxSessions?: number;
  /**
   * The chat function's streaming route: `POST /api/v1/chat` with `Accept: text/event-stream`
   * goes there after the same edge checks (in AWS, a listener rule to the private REST API).
   * @default none: such requests go to the whole-reply chat target
   */
  readonly chatStream?: ChatStreamHandler;
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
  const maxSessions = options.maxSessions ?? MAX_SESSIONS;
  const throttle = options.throttle ?? new SignInThrottle();

  const addSession = (id: string, session: Session): void => {
    if (sessions.size >= maxSessions) {
      const now = Date.now();
      for (const [key, value] of sessions) if (value.expiresAt <= now) sessions.delete(key);
      while (sessions.size >= maxSessions) sessions.delete(sessions.keys().next().value as string);
    }
    sessions.set(id, session);
  };

  /** Records an edge decision; false when the trail could not take it (the caller answers 503). */
  const record = async (event: Parameters<AuditSink>[0]): Promise<boolean> => {
    if (!options.audit) return true;
    try {
      await options.audit(event);
      return true;
    } catch {
      return false;
    }
  };

  const edgeRejection = async (
    req: IncomingMessage,
    res: ServerResponse,
    reason: string,
    credential: string,
    answer: () => void,
  ): Promise<number> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded = await record({
      type: 'AUTHN_FAILURE',
      actor: actorOf(undefined, originOf(req)),
      resource: `${req.method ?? ''} ${url.pathname}`.slice(0, 256),
      action: 'authenticate',
      outcome: 'failure',
      requestId: randomUUID(),
      durationMs: 0,
      reason,
      fields: { credential, layer: 'edge' },
    });
    if (!recorded) {
      jsonError(res, 503, 'service_unavailable', 'The service is unavailable; try again.');
      return 503;
    }
    answer();
    return 401;
  };

  const invoke = async (
    name: keyof LocalTargets,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    extraHeaders: Record<string, string> = {},
  ): Promise<number> => {
    if (
      name === 'chat' &&
      options.chatStream &&
      req.method === 'POST' &&
      new URL(req.url ?? '/', 'http://127.0.0.1').pathname === '/api/v1/chat' &&
      acceptsEventStream(req.headers.accept)
    ) {
      return invokeStream(options.chatStream, req, res, body, extraHeaders);
    }
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

  /** The streaming route: each write goes out as it is made; a closed connection aborts the call. */
  const invokeStream = async (
    handler: ChatStreamHandler,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    extraHeaders: Record<string, string>,
  ): Promise<number> => {
    const client = new AbortController();
    res.once('close', () => {
      if (!res.writableEnded) client.abort(new Error('The client closed the connection.'));
    });
    let status = 0;
    await handler(
      toAlbEvent(req, body, extraHeaders),
      {
        start: (statusCode, headers) => {
          status = statusCode;
          res.writeHead(statusCode, { ...headers });
          res.flushHeaders();
        },
        write: (chunk) => {
          res.write(chunk);
        },
        end: () => {
          res.end();
        },
      },
      { awsRequestId: randomUUID(), functionName: 'chat', signal: client.signal },
    );
    return status;
  };

  const sessionOf = (req: IncomingMessage): Session | undefined => {
    const id = cookiesOf(req)[SESSION_COOKIE];
    const session = id === undefined ? undefined : sessions.get(id);
    if (session && session.expiresAt > Date.now()) return session;
    if (id !== undefined) sessions.delete(id);
    return undefined;
  };

  const signInEvent = (
    req: IncomingMessage,
    emailPseudonym: string,
    outcome: 'success' | 'failure',
    reason?: string,
    sub?: string,
  ): Parameters<AuditSink>[0] => ({
    type: 'AUTH_SIGN_IN',
    actor: { ...actorOf(undefined, originOf(req)), ...(sub === undefined ? {} : { sub }) },
    resource: 'local/login',
    action: 'sign-in',
    outcome,
    requestId: randomUUID(),
    durationMs: 0,
    ...(reason === undefined ? {} : { reason }),
    // Never the address itself: a keyed pseudonym joins attempts on one account.
    fields: { emailHash: emailPseudonym },
  });

  /** `POST /login`: same-origin only, throttled per account and address, audited either way. */
  const signIn = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<number> => {
    // A form post from another site (or without an Origin at all) cannot sign anyone in.
    if (!sameOrigin(req)) {
      jsonError(res, 403, 'forbidden', 'Cross-site sign-in refused.');
      return 403;
    }
    const form = new URLSearchParams(body.toString('utf8'));
    const email = (form.get('email') ?? '').trim().toLowerCase().slice(0, 320);
    const pseudonym = options.issuer.pseudonymize(email);
    const address = req.socket.remoteAddress ?? 'unknown';
    const unavailable = () => {
      jsonError(res, 503, 'service_unavailable', 'The service is unavailable; try again.');
      return 503;
    };
    const refusal = throttle.check(email, address);
    if (refusal) {
      if (!(await record(signInEvent(req, pseudonym, 'failure', `throttled_${refusal.scope}`))))
        return unavailable();
      send(
        res,
        429,
        {
          ...SECURITY_HEADERS,
          'Content-Type': 'application/json; charset=utf-8',
          'Retry-After': String(refusal.retryAfterSeconds),
        },
        JSON.stringify({
          error: {
            code: 'too_many_requests',
            message: `Too many failed sign-ins; try again in ${refusal.retryAfterSeconds} s.`,
            requestId: randomUUID(),
          },
        }),
      );
      return 429;
    }
    const user = await options.issuer.authenticate(email, form.get('password') ?? '');
    if (!user) {
      const lock = throttle.failure(email, address);
      // The failure that starts a lock is the audited lockout; alarms key on its reason.
      const reason = lock ? `locked_out_${lock.scope}` : 'bad_credentials';
      if (!(await record(signInEvent(req, pseudonym, 'failure', reason)))) return unavailable();
      send(res, 303, { ...SECURITY_HEADERS, Location: '/login?failed=1' }, '');
      return 303;
    }
    throttle.success(email);
    try {
      // As Cognito's pre-token-generation trigger: the directory learns the user's groups
      // before a token is issued (a lost group revokes earlier tokens).
      if (options.directory) {
        await syncOwner(options.directory, user.sub, {
          groups: user.groups,
          status: 'active',
          issuingToken: true,
        });
      }
    } catch {
      return unavailable();
    }
    if (!(await record(signInEvent(req, pseudonym, 'success', undefined, user.sub)))) return unavailable();
    const id = randomBytes(32).toString('base64url');
    addSession(id, {
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
    if (path === '/login' && method === 'POST') return signIn(req, res, body);
    if (path === '/logout' && method === 'GET') return signOutPage(res);
    if (path === '/logout' && method === 'POST') {
      // Sign-out changes state, so it takes the same same-origin POST as sign-in: a
      // cross-site link or image cannot sign anyone out.
      if (!sameOrigin(req)) {
        jsonError(res, 403, 'forbidden', 'Cross-site sign-out refused.');
        return 403;
      }
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
    if (path === '/logout') {
      jsonError(res, 405, 'method_not_allowed', 'Sign out with POST.');
      return 405;
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
        } catch (error) {
          const reason = error instanceof TokenRejectedError ? error.reason : 'malformed_token';
          return edgeRejection(req, res, reason, 'authorization', () =>
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
            ),
          );
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
        return edgeRejection(req, res, 'missing_credentials', 'session', () =>
          jsonError(res, 401, 'unauthenticated', 'Sign in first.'),
        );
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

/** Where an edge request came from: the client address and user agent. */
function originOf(req: IncomingMessage): RequestOrigin {
  const userAgent = req.headers['user-agent'];
  return {
    ...(req.socket.remoteAddress ? { sourceIp: req.socket.remoteAddress } : {}),
    ...(typeof userAgent === 'string' ? { userAgent } : {}),
  };
}

/** Whether a state-changing request names this server as its origin (the Host was checked before). */
function sameOrigin(req: IncomingMessage): boolean {
  return req.headers.origin === `http://${req.headers.host}`;
}

/** `GET /logout`: a confirmation with a same-origin POST form; a GET itself signs nobody out. */
function signOutPage(res: ServerResponse): number {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out - OmniChat (local)</title>
<link rel="stylesheet" href="/login.css">
</head>
<body class="login">
<main>
<h1>OmniChat <span class="badge">local mode</span></h1>
<form method="post" action="/logout">
<button type="submit" id="confirm-sign-out">Sign out</button>
</form>
<p class="note"><a href="/app/chat">Back to the chat</a></p>
</main>
</body>
</html>`;
  return sendPage(res, html);
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
  return sendPage(res, html);
}

/**
 * Sends one of the edge's own pages (sign-in, sign-out confirmation): no script, styles from
 * `/login.css` only, and forms that post to this origin. Both pages' forms are checked for a
 * same-origin `Origin` header: no-referrer would make browsers send `Origin: null` with the
 * POST, which that check must refuse; same-origin sends the real origin to us and nothing elsewhere.
 */
function sendPage(res: ServerResponse, html: string): number {
  send(
    res,
    200,
    {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': LOGIN_CSP,
      'Referrer-Policy': 'same-origin',
    },
    html,
  );
  return 200;
}
