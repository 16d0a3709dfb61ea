/**
 * The HTTPS listener's routing table as data: which requests go where, behind which
 * authentication, at which priority. Kept apart from the construct so the order and the
 * ALB limits are checked (and tested) before any resource is built.
 *
 * Priority scheme (lower number = evaluated first; bands leave room to grow):
 *
 * | priority          | rule                                   | auth at the ALB                   |
 * |-------------------|----------------------------------------|-----------------------------------|
 * | 10                | `GET/HEAD /healthz`                    | none                              |
 * | 500 + 3 x route + | a streamed route: `POST` + its path +  | as the route's Bearer, API-key and|
 * |   0 / 1 / 2       | `Accept: *text/event-stream*` + cred.  | session rules, in that order      |
 * | 1000 + route      | route paths + `Authorization: Bearer *`| jwt-validation (iss, token_use)   |
 * | 2000 + route      | route paths + `x-api-key: ak_*`        | none (the function checks the key)|
 * | 3000 + route      | route paths (browser session cookie)   | authenticate-cognito, deny = 401  |
 * | 4000              | `/`, `/app`, `/app/*`, callback        | authenticate-cognito (sign-in)    |
 * | default           | anything else                          | fixed 404 JSON                    |
 *
 * A Bearer token is tried before an API key, and both before the session cookie: a request
 * that carries a credential is judged by that credential and is never redirected to a login
 * page. Within a band, routes keep the order they were given (put specific paths first).
 *
 * A route with a `streamPath` (issue 20) also gets three streaming rules, one per credential,
 * ahead of every whole-reply rule: the same authentication, plus the method, the exact path
 * and the `Accept` header, forwarded to the private streaming API instead of the function.
 * A request without `text/event-stream` in its `Accept` header falls through to the route's
 * whole-reply rules, as before.
 */

/** Priority bands of the HTTPS listener's rules. */
export const RULE_PRIORITY = {
  health: 10,
  stream: 500,
  bearer: 1000,
  apiKey: 2000,
  session: 3000,
  web: 4000,
} as const;

/** ALB quotas a rule set must respect (Application Load Balancer quotas, not adjustable except rules). */
export const ALB_LIMITS = {
  /** Rules per load balancer, default rule excluded. */
  rulesPerLoadBalancer: 100,
  /** Condition values per rule, all conditions together. */
  conditionValuesPerRule: 5,
  /** Wildcards (`*`, `?`) per rule, all conditions together. */
  wildcardsPerRule: 5,
  /** Target groups per load balancer. */
  targetGroupsPerLoadBalancer: 100,
} as const;

/** Header condition of a Bearer-token request; ALB compares header values case-insensitively. */
export const BEARER_HEADER = { name: 'authorization', values: ['Bearer *'] } as const;
/** Header condition of an API-key request: personal keys are `ak_` + 43 base64url characters. */
export const API_KEY_HEADER = { name: 'x-api-key', values: ['ak_*'] } as const;
/**
 * Header condition of a streaming request. ALB matches the whole value (wildcards allowed,
 * case-insensitive), and clients may list other types beside `text/event-stream`.
 */
export const STREAM_ACCEPT_HEADER = { name: 'accept', values: ['*text/event-stream*'] } as const;
/** Method of a streaming request (only `POST /api/v1/chat` streams). */
export const STREAM_METHOD = 'POST';
/** Browser paths served by the web function behind the Cognito sign-in. */
export const WEB_PATHS = [
  '/',
  '/app',
  '/app/*',
  // Cognito's redirect back to the load balancer; matching it to the same authenticate rule
  // guarantees the code exchange happens under the web rule's session settings.
  '/oauth2/idpresponse',
] as const;
/** Path of the unauthenticated health check. */
export const HEALTH_PATH = '/healthz';

/** Which credential a rule admits. */
export type RuleAuth = 'none' | 'jwt' | 'api-key' | 'session-deny' | 'session-login';

/** One planned listener rule. */
export interface PlannedRule {
  /** Construct id of the rule. */
  readonly id: string;
  readonly priority: number;
  readonly pathPatterns: readonly string[];
  readonly header?: { readonly name: string; readonly values: readonly string[] };
  readonly methods?: readonly string[];
  readonly auth: RuleAuth;
  /** Target group key: `health`, `web`, a route name, or `<route>Stream` for a streaming rule. */
  readonly target: string;
  /**
   * A streaming rule: it also requires {@link STREAM_ACCEPT_HEADER}, and the load balancer
   * rewrites its host and path for the private streaming API.
   */
  readonly stream?: true;
}

/** What the plan needs to know about an API route. */
export interface RouteSpec {
  readonly name: string;
  readonly pathPatterns: readonly string[];
  /** The exact path (one of `pathPatterns`, no wildcard) whose `POST` may stream. @default none */
  readonly streamPath?: string;
}

const ROUTE_NAME = /^[A-Za-z][A-Za-z0-9]{0,19}$/;
const PATH_PATTERN = /^\/api\/[A-Za-z0-9_\-.$/~"'@:+*?&]*$/;
/** Target-group keys of the health and web functions; no route may take them. */
const RESERVED_TARGETS = new Set(['health', 'web']);

const wildcards = (values: readonly string[]): number =>
  values.reduce((n, v) => n + (v.match(/[*?]/g)?.length ?? 0), 0);

/**
 * Plans every rule of the HTTPS listener, in priority order, and throws (naming the route)
 * when a route would break an ALB quota or the routing scheme.
 */
export function planListenerRules(routes: readonly RouteSpec[]): PlannedRule[] {
  if (routes.length === 0) throw new Error('ChatLoadBalancer: apiRoutes must list at least one route');
  const seenNames = new Set<string>();
  const seenPatterns = new Map<string, string>();
  for (const route of routes) {
    const where = `ChatLoadBalancer: apiRoutes "${route.name}"`;
    const key = route.name.toLowerCase();
    if (!ROUTE_NAME.test(route.name) || RESERVED_TARGETS.has(key)) {
      throw new Error(
        `${where}: name must be letters and digits (at most 20, starting with a letter), not health or web`,
      );
    }
    if (seenNames.has(key)) throw new Error(`${where}: name is used twice`);
    seenNames.add(key);
    // One condition value of the Bearer and API-key rules is the header; the rest are paths.
    const maxPaths = ALB_LIMITS.conditionValuesPerRule - 1;
    if (route.pathPatterns.length < 1 || route.pathPatterns.length > maxPaths) {
      throw new Error(
        `${where}: pathPatterns must list 1 to ${maxPaths} patterns (ALB: 5 condition values per rule)`,
      );
    }
    for (const pattern of route.pathPatterns) {
      if (!PATH_PATTERN.test(pattern) || pattern.length > 128) {
        throw new Error(
          `${where}: path pattern "${pattern}" must start with /api/ and be a valid ALB path pattern of at most 128 characters`,
        );
      }
      const owner = seenPatterns.get(pattern);
      if (owner !== undefined)
        throw new Error(`${where}: path pattern "${pattern}" is already routed to "${owner}"`);
      seenPatterns.set(pattern, route.name);
    }
    const maxWildcards = ALB_LIMITS.wildcardsPerRule - 1;
    if (wildcards(route.pathPatterns) > maxWildcards) {
      throw new Error(
        `${where}: pathPatterns may use at most ${maxWildcards} wildcards (ALB: 5 per rule, one is the header's)`,
      );
    }
  }
  const streamed = routes.filter((route) => route.streamPath !== undefined);
  for (const route of streamed) {
    if (!route.pathPatterns.includes(route.streamPath!) || /[*?]/.test(route.streamPath!)) {
      throw new Error(
        `ChatLoadBalancer: apiRoutes "${route.name}": streamPath "${route.streamPath}" must be one of its pathPatterns, without wildcards`,
      );
    }
  }
  const streamSlots = RULE_PRIORITY.bearer - RULE_PRIORITY.stream;
  if (streamed.length * 3 > streamSlots) {
    throw new Error(`ChatLoadBalancer: at most ${Math.floor(streamSlots / 3)} apiRoutes may stream`);
  }
  const band = RULE_PRIORITY.apiKey - RULE_PRIORITY.bearer;
  if (routes.length >= band)
    throw new Error(`ChatLoadBalancer: at most ${band - 1} apiRoutes fit a priority band`);

  const rules: PlannedRule[] = [
    {
      id: 'Health',
      priority: RULE_PRIORITY.health,
      pathPatterns: [HEALTH_PATH],
      methods: ['GET', 'HEAD'],
      auth: 'none',
      target: 'health',
    },
  ];
  const variants = [
    { band: RULE_PRIORITY.bearer, suffix: 'Bearer', auth: 'jwt', header: BEARER_HEADER },
    { band: RULE_PRIORITY.apiKey, suffix: 'ApiKey', auth: 'api-key', header: API_KEY_HEADER },
    { band: RULE_PRIORITY.session, suffix: 'Session', auth: 'session-deny', header: undefined },
  ] as const;
  for (const [index, route] of streamed.entries()) {
    for (const [offset, variant] of variants.entries()) {
      rules.push({
        id: `${route.name}Stream${variant.suffix}`,
        priority: RULE_PRIORITY.stream + 3 * index + offset,
        pathPatterns: [route.streamPath!],
        methods: [STREAM_METHOD],
        ...(variant.header ? { header: variant.header } : {}),
        auth: variant.auth,
        target: `${route.name}Stream`,
        stream: true,
      });
    }
  }
  for (const variant of variants) {
    for (const [index, route] of routes.entries()) {
      rules.push({
        id: `${route.name}${variant.suffix}`,
        priority: variant.band + index,
        pathPatterns: route.pathPatterns,
        ...(variant.header ? { header: variant.header } : {}),
        auth: variant.auth,
        target: route.name,
      });
    }
  }
  rules.push({
    id: 'Web',
    priority: RULE_PRIORITY.web,
    pathPatterns: WEB_PATHS,
    auth: 'session-login',
    target: 'web',
  });

  if (rules.length > ALB_LIMITS.rulesPerLoadBalancer) {
    throw new Error(
      `ChatLoadBalancer: ${rules.length} listener rules exceed the ALB quota of ${ALB_LIMITS.rulesPerLoadBalancer} (3 per API route, 3 per streamed route, + 2)`,
    );
  }
  return rules;
}
