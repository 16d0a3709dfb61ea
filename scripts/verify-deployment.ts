/**
 * `npm run verify:deployment -- --env NAME [--url https://host] [--skip-aws]`: a read-only check
 * of a live environment, run right after `cdk deploy` and after every change
 * (docs/first-deploy.md). HTTPS checks against the URL (default: the environment's host name),
 * read-only AWS API checks in the environment's account and region (credentials from the
 * usual chain). Prints a table (pass/fail/skip and why) and exits 1 on any failure.
 *
 * Local mode: `--url http://127.0.0.1:PORT` (what CI does against `npm run local`) runs the
 * HTTP checks that apply without TLS and a WAF, and skips the AWS checks, with the reason.
 */

import { MAX_BODY_BYTES } from '../lambda/shared/http';
import { loadEnvironments } from '../lib/config/load';
import { awsChecks, awsClients } from './verify/aws-checks';
import { httpChecks } from './verify/http-checks';
import { type CheckRow, renderTable, runChecks, type VerifyCheck } from './verify/report';

const USAGE = 'usage: npm run verify:deployment -- --env NAME [--url https://host] [--skip-aws]';

/** Parsed command line. */
export interface VerifyArgs {
  readonly env: string;
  readonly url?: string;
  readonly skipAws: boolean;
}

/** Parses the arguments; throws with the usage on anything unknown. */
export function parseArgs(argv: readonly string[]): VerifyArgs {
  let env: string | undefined;
  let url: string | undefined;
  let skipAws = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--env') env = argv[++i];
    else if (arg === '--url') url = argv[++i];
    else if (arg === '--skip-aws') skipAws = true;
    else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  if (!env) throw new Error(`--env is required\n${USAGE}`);
  if (url !== undefined && !/^https?:\/\/[^/]+\/?$/.test(url)) {
    throw new Error(`--url must be an origin such as https://chat.example.com\n${USAGE}`);
  }
  return { env, ...(url === undefined ? {} : { url }), skipAws };
}

/** Whether a URL is local mode (plain HTTP on loopback). */
export function isLocal(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/** Builds and runs every check for the arguments. */
export async function verify(args: VerifyArgs): Promise<CheckRow[]> {
  const config = loadEnvironments(args.env)[0]!;
  const baseUrl = args.url ?? `https://${config.edge.hostName}`;
  const local = isLocal(baseUrl);
  const checks: VerifyCheck[] = httpChecks({
    baseUrl,
    promptInjectionBlocks: config.edge.promptInjectionAction === 'BLOCK',
    ...(local
      ? {}
      : { loginHost: `${config.identity.domainPrefix}.auth.${config.region}.amazoncognito.com` }),
    maxBodyBytes: MAX_BODY_BYTES,
  });
  if (local || args.skipAws) {
    const why = local ? 'local mode has no AWS resources' : '--skip-aws';
    checks.push({ id: 'aws-api-checks', group: 'aws', run: async () => ({ status: 'skip', why }) });
  } else {
    checks.push(...awsChecks({ config, clients: awsClients(config.region) }));
  }
  return runChecks(checks);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const rows = await verify(args);
  console.log(renderTable(rows));
  return rows.some((r) => r.status === 'fail') ? 1 : 0;
}

if (process.argv[1]?.endsWith('verify-deployment.ts')) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 2;
    },
  );
}
