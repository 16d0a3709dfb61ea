/**
 * `npm run local`: the service on http://127.0.0.1:${PORT:-3000} with no AWS account and no
 * Docker (DESIGN.md sections 2 and 10). See scripts/local-service.ts for what runs.
 *
 *   npm run local                                   local mode, data under .local/
 *   npm run local -- --create-user EMAIL --group admin [--password P]
 *   npm run local -- --set-groups EMAIL GROUP[,GROUP] | --disable-user EMAIL | --enable-user EMAIL
 *   OMNICHAT_MODE=hybrid npm run local -- --guardrail-id ID --guardrail-version N
 *
 * Environment: PORT (default 3000), OMNICHAT_LOCAL_DIR (default .local), OMNICHAT_MODE
 * (local | hybrid), OMNICHAT_LOCAL_RATE_PER_MINUTE (chat requests per user per minute),
 * OWNER_CACHE_SECONDS (0..60, default 30: how long a user change takes to reach every credential),
 * OMNICHAT_LOCAL_CHUNK_DELAY_MS (0..10000, default 40: the stand-in's wait before each streamed
 * delta; --chunk-delay-ms wins), OMNICHAT_GUARDRAIL_ID / OMNICHAT_GUARDRAIL_VERSION (hybrid), AWS_REGION.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_OWNER_CACHE_SECONDS } from '../lambda/auth/owner-directory';
import { readVariable, variableName } from '../lambda/compose/function-env';
import { LocalIssuer } from '../lambda/local/issuer';
import {
  checkHybrid,
  LOCAL_ISSUER_URL,
  type LocalMode,
  type LocalService,
  LocalStartError,
  localEnvironment,
  startLocalService,
} from './local-service';

const ROOT = resolve(import.meta.dirname, '..');
const DEMO_EMAIL = 'demo@example.com';

/** The stand-in's wait before each streamed delta when neither the flag nor the variable sets one. */
const DEFAULT_CHUNK_DELAY_MS = 40;

const USAGE = `Usage:
  npm run local [-- --chunk-delay-ms MS] start on http://127.0.0.1:\${PORT:-3000}
                                         (MS: the local stand-in's wait before each streamed delta,
                                         0..10000, default OMNICHAT_LOCAL_CHUNK_DELAY_MS or ${DEFAULT_CHUNK_DELAY_MS})
  npm run local -- --create-user EMAIL [--group NAME ...] [--password P]
  npm run local -- --set-groups EMAIL GROUP[,GROUP]   replace the user's groups (losing one signs them out)
  npm run local -- --disable-user EMAIL               refuse every session, token and key of the user
  npm run local -- --enable-user EMAIL                allow the user again, with their current groups
  (these work while the service runs: it applies them within OWNER_CACHE_SECONDS + 1 s)
  OMNICHAT_MODE=hybrid npm run local -- --guardrail-id ID --guardrail-version N [--region R]`;

/** A password the user pool's policy accepts: 16 random base64url characters and one of each class. */
function generatePassword(): string {
  return `${randomBytes(12).toString('base64url')}-Aa1`;
}

function fail(message: string): never {
  console.error(`npm run local: ${message}`);
  process.exit(1);
}

function modeOf(value: string | undefined): LocalMode {
  const mode = (value ?? 'local').trim() || 'local';
  if (mode !== 'local' && mode !== 'hybrid')
    fail(`OMNICHAT_MODE must be "local" or "hybrid", not "${mode}".`);
  return mode;
}

function portOf(value: string | undefined): number {
  const port = Number(value ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    fail(`PORT must be a port number, not "${value}".`);
  return port;
}

function rateOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return Number(value);
}

function chunkDelayOf(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_CHUNK_DELAY_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 10_000)
    fail(
      `--chunk-delay-ms / OMNICHAT_LOCAL_CHUNK_DELAY_MS must be an integer from 0 to 10000, not "${value}".`,
    );
  return ms;
}

function banner(service: LocalService, dir: string, demo: { email: string; password?: string } | undefined) {
  const rows: [string, string][] = [
    ['URL', service.url],
    [
      'Mode',
      service.mode === 'local'
        ? 'local (no AWS account; everything runs in this process)'
        : 'hybrid (real Bedrock Converse and guardrail; everything else local)',
    ],
    ['Model', service.modelLabel],
    [
      'Guardrail',
      service.mode === 'local'
        ? `local policy engine (${service.environment} environment policy)`
        : `Bedrock guardrail + local policy engine (${service.environment} environment policy)`,
    ],
    ['Data', `${dir} (dynalite store, users, 0600 keys)`],
  ];
  if (demo?.password !== undefined) {
    rows.push(['Demo user', `${demo.email}  password: ${demo.password}`]);
    rows.push(['', 'The password is shown this once; it is stored only as a scrypt hash.']);
  } else if (demo) {
    rows.push(['Demo user', `${demo.email} (password printed when it was created)`]);
  }
  rows.push([
    'Users',
    service.issuer
      .users()
      .map((user) => user.email)
      .join(', ') || '(none)',
  ]);
  rows.push(['MFA', 'none locally; in AWS, Cognito requires TOTP']);
  const width = Math.max(...rows.map(([key]) => key.length));
  const lines = [
    '',
    `OmniChat ${service.mode === 'local' ? 'local' : 'hybrid'} mode`,
    ...rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`),
    '',
    `Ready in ${service.startupMs} ms. Open ${service.url} and sign in. Ctrl-C stops.`,
    '',
  ];
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      'create-user': { type: 'string' },
      'set-groups': { type: 'string', multiple: true },
      'disable-user': { type: 'string' },
      'enable-user': { type: 'string' },
      group: { type: 'string', multiple: true },
      password: { type: 'string' },
      'guardrail-id': { type: 'string' },
      'guardrail-version': { type: 'string' },
      region: { type: 'string' },
      'chunk-delay-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    // `--set-groups EMAIL GROUPS`: the groups come as the next argument.
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const dir = resolve(ROOT, process.env.OMNICHAT_LOCAL_DIR ?? '.local');

  // User administration touches only the users file, so it works while the service runs; the
  // service's directory sync picks the change up (lambda/local/directory-sync.ts).
  const admin = [values['set-groups'], values['disable-user'], values['enable-user']].filter(
    (value) => value !== undefined,
  );
  if (admin.length > 1 || (admin.length === 1 && values['create-user'] !== undefined)) {
    fail(`one user change at a time.\n${USAGE}`);
  }
  if (admin.length === 1) {
    const issuer = new LocalIssuer({ dir, issuer: LOCAL_ISSUER_URL });
    try {
      if (values['set-groups'] !== undefined) {
        const [email, list, ...rest] = [...values['set-groups'], ...positionals];
        if (email === undefined || list === undefined || rest.length > 0)
          fail(`--set-groups needs EMAIL and GROUP[,GROUP].\n${USAGE}`);
        const groups = list
          .split(',')
          .map((group) => group.trim())
          .filter((group) => group !== '');
        const user = issuer.setGroups(email, groups);
        console.log(`${user.email} now holds ${user.groups.join(', ') || 'no group'}.`);
      } else if (values['disable-user'] !== undefined) {
        const user = issuer.setEnabled(values['disable-user'], false);
        console.log(`${user.email} is disabled: every session, token and API key is refused.`);
      } else if (values['enable-user'] !== undefined) {
        const user = issuer.setEnabled(values['enable-user'], true);
        console.log(`${user.email} is enabled again, with groups ${user.groups.join(', ') || 'none'}.`);
      }
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
    return;
  }
  if (positionals.length > 0) fail(`unexpected argument "${positionals[0]}".\n${USAGE}`);

  const email = values['create-user'];
  if (email !== undefined) {
    // Only the users file is touched, so this works while the service runs.
    const issuer = new LocalIssuer({ dir, issuer: LOCAL_ISSUER_URL });
    const password = values.password ?? generatePassword();
    let user: ReturnType<LocalIssuer['createUser']>;
    try {
      user = issuer.createUser(email, password, values.group ?? ['user']);
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
    console.log(`Created ${user.email} (groups: ${user.groups.join(', ') || 'none'}) in ${dir}.`);
    if (values.password === undefined) console.log(`Password (shown this once): ${password}`);
    return;
  }

  const mode = modeOf(process.env.OMNICHAT_MODE);
  const port = portOf(process.env.PORT);
  const hybrid =
    mode === 'hybrid'
      ? await checkHybrid(
          {
            ...(values['guardrail-id'] === undefined ? {} : { guardrailId: values['guardrail-id'] }),
            ...(values['guardrail-version'] === undefined
              ? {}
              : { guardrailVersion: values['guardrail-version'] }),
            ...(values.region === undefined ? {} : { region: values.region }),
          },
          process.env,
          localEnvironment(),
        )
      : undefined;
  const ratePerMinute = rateOf(process.env.OMNICHAT_LOCAL_RATE_PER_MINUTE);
  const chunkDelayMs = chunkDelayOf(values['chunk-delay-ms'] ?? process.env.OMNICHAT_LOCAL_CHUNK_DELAY_MS);
  let ownerCacheSeconds: number;
  try {
    // Optional here (the functions require it): unset or empty is the default.
    ownerCacheSeconds =
      (process.env[variableName('ownerCacheSeconds')]?.trim() ?? '') === ''
        ? DEFAULT_OWNER_CACHE_SECONDS
        : readVariable('ownerCacheSeconds', process.env);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const service = await startLocalService({
    dir,
    port,
    mode,
    ...(hybrid ? { hybrid } : {}),
    ...(ratePerMinute === undefined ? {} : { ratePerMinute }),
    chunkDelayMs,
    ownerCacheSeconds,
    ...(values.quiet
      ? {}
      : {
          onRequest: ({ method, path, status, ms }) => console.log(`${method} ${path} ${status} ${ms} ms`),
        }),
  });

  let demo: { email: string; password?: string } | undefined;
  const users = service.issuer.users();
  if (users.length === 0) {
    const password = generatePassword();
    service.issuer.createUser(DEMO_EMAIL, password, ['user']);
    demo = { email: DEMO_EMAIL, password };
  } else if (users.some((user) => user.email === DEMO_EMAIL)) {
    demo = { email: DEMO_EMAIL };
  }
  banner(service, dir, demo);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting.`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping (finishing open requests, then closing the store)…`);
    service.close().then(
      () => {
        console.log('Stopped cleanly; the data is kept for the next start.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Stopping failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof LocalStartError) {
    const cause = error.cause instanceof Error ? `\n  cause: ${error.cause.message}` : '';
    fail(`${error.message}${cause}`);
  }
  // A bad flag or e-mail is the user's to fix: the message is enough. Anything else gets its stack.
  if (
    error instanceof Error &&
    /^(ERR_PARSE_ARGS|ERR_INVALID_ARG)/.test((error as NodeJS.ErrnoException).code ?? '')
  )
    fail(`${error.message}\n${USAGE}`);
  console.error(error);
  process.exit(1);
});
