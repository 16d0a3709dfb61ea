/**
 * The environment contract between the stacks and the functions, in one place: each
 * variable's name and format, and which function gets which. The stacks build a function's
 * `Environment.Variables` with {@link toLambdaEnvironment}; the function reads them back once
 * at module load with {@link readFunctionEnv}, which fails the cold start naming the variable.
 * test/infra/function-env.test.ts parses every synthesized function's variables (every
 * environment) with the reader, so a variable a function reads and no stack sets fails the
 * suite, not a deployment.
 *
 * Kept free of CDK and SDK imports: lib/ imports it, and so does every bundle.
 */
import * as z from 'zod/mini';
import { MAX_OWNER_CACHE_SECONDS } from '../auth/owner-directory';

const text = z.string().check(z.trim(), z.minLength(1, 'must be set'));
const positiveInt = z.pipe(
  text,
  z.transform((raw, ctx) => {
    const value = Number(raw);
    if (Number.isInteger(value) && value >= 1) return value;
    ctx.issues.push({ code: 'custom', message: 'must be a positive integer', input: raw });
    return z.NEVER;
  }),
);
const ownerCacheSeconds = z.pipe(
  text,
  z.transform((raw, ctx) => {
    const value = Number(raw);
    if (Number.isInteger(value) && value >= 0 && value <= MAX_OWNER_CACHE_SECONDS) return value;
    ctx.issues.push({
      code: 'custom',
      message: `must be an integer from 0 to ${MAX_OWNER_CACHE_SECONDS} (the revocation bound)`,
      input: raw,
    });
    return z.NEVER;
  }),
);
const jsonObject = z.pipe(
  text,
  z.transform((raw, ctx): unknown => {
    try {
      const value: unknown = JSON.parse(raw);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
    } catch {
      // reported below
    }
    ctx.issues.push({ code: 'custom', message: 'must be a JSON object', input: raw });
    return z.NEVER;
  }),
);
const commaList = z.pipe(
  text,
  z.transform((raw) =>
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  ),
);

/**
 * Every variable a function may read: its typed name, the variable's name and its format.
 * The typed names are what the stacks and the functions use; the variable names appear
 * nowhere else in lambda/ or lib/.
 */
const VARIABLES = {
  authIssuer: { name: 'AUTH_ISSUER', schema: text },
  /** The user pool's JWKS, preloaded at deploy time (lambda/deploy/jwks-resolver.ts). */
  authJwks: { name: 'AUTH_JWKS', schema: jsonObject },
  authClientIds: { name: 'AUTH_CLIENT_IDS', schema: commaList },
  authMaxTokenSeconds: { name: 'AUTH_MAX_TOKEN_SECONDS', schema: positiveInt },
  apiKeysTable: { name: 'TABLE_API_KEYS', schema: text },
  auditTable: { name: 'TABLE_AUDIT', schema: text },
  auditRetentionDays: { name: 'AUDIT_RETENTION_DAYS', schema: positiveInt },
  /** How long a demotion, disable or erasure takes to reach every credential (<= 60 s). */
  ownerCacheSeconds: { name: 'OWNER_CACHE_SECONDS', schema: ownerCacheSeconds },
  /** Read by Powertools Metrics itself. */
  metricsNamespace: { name: 'POWERTOOLS_METRICS_NAMESPACE', schema: text },
  conversationsTable: { name: 'TABLE_CONVERSATIONS', schema: text },
  limitsTable: { name: 'TABLE_LIMITS', schema: text },
  settingsTable: { name: 'TABLE_SETTINGS', schema: text },
  dataKeyArn: { name: 'DATA_KEY_ARN', schema: text },
  /** The guardrail's ARN: bedrock:GuardrailIdentifier is compared with `<ARN>:<version>`. */
  guardrailId: { name: 'GUARDRAIL_ID', schema: text },
  guardrailVersion: { name: 'GUARDRAIL_VERSION', schema: text },
  cognitoLogoutUrl: { name: 'COGNITO_LOGOUT_URL', schema: text },
  auditArchiveBucket: { name: 'AUDIT_ARCHIVE_BUCKET', schema: text },
  userPoolId: { name: 'USER_POOL_ID', schema: text },
} as const;

/** The typed name of a variable. */
export type Variable = keyof typeof VARIABLES;

/** What every API function reads: identity, key authentication, the audit writer, metrics. */
const API = [
  'authIssuer',
  'authJwks',
  'authClientIds',
  'authMaxTokenSeconds',
  'apiKeysTable',
  'auditTable',
  'auditRetentionDays',
  'ownerCacheSeconds',
  'metricsNamespace',
] as const satisfies readonly Variable[];
/** What the chat, history and admin functions compose their services from. */
const SERVICES = [
  'conversationsTable',
  'limitsTable',
  'settingsTable',
  'dataKeyArn',
] as const satisfies readonly Variable[];

/** The variables of each function, by the entry name in lambda/functions/. */
export const FUNCTION_VARIABLES = {
  health: [],
  keys: API,
  chat: [...API, ...SERVICES, 'guardrailId', 'guardrailVersion'],
  /** The streaming twin of chat (issue 20): the same variables, read as chat's (`awsAdapters('chat')`). */
  'chat-stream': [...API, ...SERVICES, 'guardrailId', 'guardrailVersion'],
  history: [...API, ...SERVICES],
  admin: [...API, ...SERVICES],
  web: [...API, 'cognitoLogoutUrl'],
  'audit-archiver': ['auditArchiveBucket'],
  'pre-token-generation': ['apiKeysTable'],
  'directory-sync': ['apiKeysTable', 'userPoolId'],
} as const satisfies Readonly<Record<string, readonly Variable[]>>;

/** A function with an environment contract (the entry's file name in lambda/functions/). */
export type FunctionName = keyof typeof FUNCTION_VARIABLES;
type VariablesOf<N extends FunctionName> = (typeof FUNCTION_VARIABLES)[N][number];

/** The typed environment of function `N`, as {@link readFunctionEnv} returns it. */
export type FunctionEnv<N extends FunctionName> = {
  readonly [K in VariablesOf<N>]: z.output<(typeof VARIABLES)[K]['schema']>;
};

/** What a stack passes for function `N`: every variable, as a string or number (CDK tokens are strings). */
export type FunctionEnvProps<N extends FunctionName> = {
  readonly [K in VariablesOf<N>]: string | number;
};

/** The name of every variable, for readers outside the functions (the bench's fake environment). */
export function variableName(variable: Variable): string {
  return VARIABLES[variable].name;
}

/** The Lambda `environment` of function `name`: exactly the variables its reader reads. */
export function toLambdaEnvironment<N extends FunctionName>(
  name: N,
  props: FunctionEnvProps<N>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const variable of FUNCTION_VARIABLES[name] as readonly VariablesOf<N>[]) {
    out[VARIABLES[variable].name] = String(props[variable]);
  }
  return out;
}

/** The variables of function `name`, by variable name (for tests and tooling). */
export function variableNamesOf(name: FunctionName): readonly string[] {
  return (FUNCTION_VARIABLES[name] as readonly Variable[]).map((variable) => VARIABLES[variable].name);
}

/** The parsed value of `variable`, or what is wrong with it. */
function parseVariable(
  variable: Variable,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  const { name, schema } = VARIABLES[variable];
  const parsed = z.safeParse(schema, env[name] ?? '');
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problem: `${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}` };
}

/**
 * Reads and checks function `name`'s environment; throws one error naming every variable
 * that is missing or malformed (a cold start that fails says why, never a request later).
 */
export function readFunctionEnv<N extends FunctionName>(
  name: N,
  env: Readonly<Record<string, string | undefined>> = process.env,
): FunctionEnv<N> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const variable of FUNCTION_VARIABLES[name] as readonly Variable[]) {
    const parsed = parseVariable(variable, env);
    if (parsed.ok) out[variable] = parsed.value;
    else problems.push(parsed.problem);
  }
  if (problems.length > 0) {
    throw new Error(`Function ${name}: environment variable ${problems.join('; ')}`);
  }
  return out as FunctionEnv<N>;
}

/**
 * Reads one variable with the functions' format, for local mode (scripts/local.ts), which
 * takes a few of them from its own environment; throws naming the variable.
 */
export function readVariable<V extends Variable>(
  variable: V,
  env: Readonly<Record<string, string | undefined>> = process.env,
): z.output<(typeof VARIABLES)[V]['schema']> {
  const parsed = parseVariable(variable, env);
  if (!parsed.ok) throw new Error(`Environment variable ${parsed.problem}`);
  return parsed.value as z.output<(typeof VARIABLES)[V]['schema']>;
}
