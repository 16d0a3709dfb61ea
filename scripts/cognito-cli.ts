/**
 * Shared plumbing of the Cognito operator scripts: argument parsing and validation (usage
 * errors exit 2), client construction (real Cognito or cognito-local via --endpoint) and
 * error reporting without stack traces (AWS errors exit 1).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbOwnerDirectory } from '../lambda/auth/owner-directory-dynamodb';

/** Exit codes shared by the scripts. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The part of the SDK client the scripts use (tests may wrap the real one). */
export interface CognitoSender {
  send(command: object): Promise<unknown>;
}

/** Everything a script touches outside itself. */
export interface CliDeps {
  createClient(config: { region: string; endpoint?: string }): CognitoSender;
  /** The DynamoDB client the owner directory is written with. @default the SDK client */
  createDynamo?(config: { region: string; endpoint?: string }): Pick<DynamoDBClient, 'send'>;
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Real dependencies: the SDK client and the process streams. */
export const defaultDeps: CliDeps = {
  createClient: ({ region, endpoint }) =>
    new CognitoIdentityProviderClient({
      region,
      ...(endpoint === undefined
        ? {}
        : // cognito-local ignores credentials, but the SDK insists on having some.
          { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    }) as unknown as CognitoSender,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

function defaultDynamo({ region, endpoint }: { region: string; endpoint?: string }) {
  return new DynamoDBClient({
    region,
    ...(endpoint === undefined
      ? {}
      : { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
}

/** Options of the scripts that change a user: where the owner directory lives. */
export const DIRECTORY_OPTIONS = {
  'api-keys-table': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
} as const;

/** Usage lines of {@link DIRECTORY_OPTIONS}. */
export const DIRECTORY_USAGE = `  --api-keys-table T  the API keys table (Data stack output ApiKeysTableName), which holds
                      the owner directory every credential is judged on
  --dynamodb-endpoint URL  a DynamoDB-compatible endpoint (dynalite on http://127.0.0.1:PORT)`;

/** The owner directory named by `--api-keys-table` (required: a change the directory misses is not in force). */
export function directoryOf(
  values: Record<string, string | boolean | undefined>,
  common: CommonOptions,
  deps: CliDeps,
): DynamoDbOwnerDirectory {
  const table = requireString(values, 'api-keys-table');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table))
    throw new UsageError(`--api-keys-table: not a table name: ${JSON.stringify(table)}`);
  const endpoint = values['dynamodb-endpoint'];
  if (endpoint !== undefined) {
    if (typeof endpoint !== 'string') throw new UsageError('--dynamodb-endpoint needs a URL');
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`--dynamodb-endpoint: not a URL: ${JSON.stringify(endpoint)}`);
    }
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))) {
      throw new UsageError('--dynamodb-endpoint: must be https, or http on a loopback address (dynalite)');
    }
  }
  const config = { region: common.region, ...(typeof endpoint === 'string' ? { endpoint } : {}) };
  return new DynamoDbOwnerDirectory((deps.createDynamo ?? defaultDynamo)(config), table);
}

/** Bad invocation: printed with the usage hint, exit 2. */
export class UsageError extends Error {}

const USER_POOL_ID = /^[\w-]{1,50}_[0-9a-zA-Z]{1,50}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Options every script takes. */
export interface CommonOptions {
  readonly userPoolId: string;
  readonly region: string;
  readonly endpoint?: string;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

/** Parses argv strictly; `--help` returns `undefined` after printing usage. */
export function parseCli(
  argv: readonly string[],
  extra: OptionSpec,
  usage: string,
  deps: CliDeps,
  allowPositionals = false,
):
  | { common: CommonOptions; values: Record<string, string | boolean | undefined>; positionals: string[] }
  | undefined {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h' },
        'user-pool-id': { type: 'string' },
        region: { type: 'string' },
        endpoint: { type: 'string' },
        ...extra,
      },
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    deps.stdout(usage);
    return undefined;
  }
  const userPoolId = requireString(values, 'user-pool-id');
  const region = requireString(values, 'region');
  const endpoint = values.endpoint as string | undefined;
  if (!USER_POOL_ID.test(userPoolId))
    throw new UsageError(`--user-pool-id: not a user pool id: ${JSON.stringify(userPoolId)}`);
  if (endpoint === undefined) {
    if (!AWS_REGION.test(region))
      throw new UsageError(`--region: not an AWS region: ${JSON.stringify(region)}`);
  } else {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`--endpoint: not a URL: ${JSON.stringify(endpoint)}`);
    }
    // Plain http only to an emulator on this machine; anything remote must be TLS.
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))) {
      throw new UsageError('--endpoint: must be https, or http on a loopback address (cognito-local)');
    }
    if (!/^[a-z0-9-]{1,32}$/.test(region))
      throw new UsageError(`--region: not a region: ${JSON.stringify(region)}`);
  }
  return {
    common: { userPoolId, region, ...(endpoint === undefined ? {} : { endpoint }) },
    values,
    positionals: parsed.positionals,
  };
}

/** A required string option. */
export function requireString(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`--${name} is required`);
  return value;
}

/** A user name or email: printable, no whitespace, at most 128 characters. */
export function validateUser(user: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(user))
    throw new UsageError(`--user: not a user name or email: ${JSON.stringify(user)}`);
  return user;
}

/** Runs a script body: usage errors exit 2, AWS errors exit 1, both without stack traces. */
export async function runScript(usage: string, deps: CliDeps, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      deps.stderr(`error: ${error.message}`);
      deps.stderr(usage.split('\n')[0] ?? '');
      deps.stderr('Run with --help for details.');
      return EXIT_USAGE;
    }
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    deps.stderr(`error: ${name}: ${message}`);
    return EXIT_FAILED;
  }
}

/** True when the module is the process entry point (not imported by a test). */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  return moduleUrl === pathToFileURL(resolve(entry)).href;
}
