/**
 * The environment contract (lambda/compose/function-env.ts) holds between what the stacks set
 * and what the functions read: every synthesized function of every committed environment
 * has its `Environment.Variables` parsed with the reader the function runs at cold start,
 * and sets no variable the reader does not read.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_VARIABLES,
  type FunctionName,
  readFunctionEnv,
  readVariable,
  variableNamesOf,
} from '../../lambda/compose/function-env';
import { ApiFunction } from '../../lib/constructs/api-function';
import { configOf, ENV_NAMES, stageFor } from '../support/synth';

/**
 * A variable whose value is a CloudFormation intrinsic (a reference to a table, key, pool or
 * custom resource) is known to be set, not its value: it is checked with a stand-in of its
 * format. Literal values are parsed as they are.
 */
const RESOLVED_AT_DEPLOY: Readonly<Record<string, string>> = {
  AUTH_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example',
  AUTH_JWKS: '{"keys":[]}',
  AUTH_CLIENT_IDS: 'client1,client2',
  TABLE_API_KEYS: 'api-keys',
  TABLE_AUDIT: 'audit',
  TABLE_CONVERSATIONS: 'conversations',
  TABLE_LIMITS: 'limits',
  TABLE_SETTINGS: 'settings',
  DATA_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/example',
  GUARDRAIL_ID: 'arn:aws:bedrock:eu-west-1:111111111111:guardrail/example',
  GUARDRAIL_VERSION: '1',
  COGNITO_LOGOUT_URL: 'https://auth.example.com/logout',
  AUDIT_ARCHIVE_BUCKET: 'archive',
  USER_POOL_ID: 'eu-west-1_example',
};
/** Set by the ApiFunction construct for the runtime itself, not read by the function's code: none. */
const RUNTIME_VARIABLES = new Set<string>();

/** Each function's variables as synthesized, with intrinsics replaced by a value of their format. */
function synthesizedEnvironments(envName: string): { entry: string; variables: Record<string, string> }[] {
  const stage = stageFor(envName);
  return stage.node
    .findAll()
    .filter((construct): construct is ApiFunction => construct instanceof ApiFunction)
    .map((fn) => {
      const cfn = fn.function.node.defaultChild as CfnFunction;
      const resolved = Stack.of(fn).resolve(cfn.environment) as
        | { variables?: Record<string, unknown> }
        | undefined;
      const variables: Record<string, string> = {};
      for (const [name, value] of Object.entries(resolved?.variables ?? {})) {
        if (typeof value === 'string') variables[name] = value;
        else {
          const standIn = RESOLVED_AT_DEPLOY[name];
          if (standIn === undefined)
            throw new Error(`${fn.node.path}: ${name} is an intrinsic with no stand-in`);
          variables[name] = standIn;
        }
      }
      return { entry: fn.entry, variables };
    });
}

describe.each(ENV_NAMES)('environment contract, %s', (envName) => {
  const functions = synthesizedEnvironments(envName);

  it('covers every function of the stage', () => {
    // The streaming chat function exists only where config chat.streaming is on.
    const expected = Object.keys(FUNCTION_VARIABLES).filter(
      (name) => name !== 'chat-stream' || configOf(envName).chat.streaming,
    );
    expect(functions.map((f) => f.entry).sort()).toEqual(expected.sort());
  });

  it.each(functions.map((f) => [f.entry, f.variables] as const))(
    '%s: the reader accepts what the stack sets, and the stack sets nothing else',
    (entry, variables) => {
      const name = entry as FunctionName;
      expect(() => readFunctionEnv(name, variables)).not.toThrow();
      const unread = Object.keys(variables).filter(
        (variable) => !RUNTIME_VARIABLES.has(variable) && !variableNamesOf(name).includes(variable),
      );
      expect(unread).toEqual([]);
    },
  );
});

describe('readFunctionEnv', () => {
  const chatEnv = {
    ...RESOLVED_AT_DEPLOY,
    AUTH_MAX_TOKEN_SECONDS: '3600',
    AUDIT_RETENTION_DAYS: '30',
    OWNER_CACHE_SECONDS: '30',
    POWERTOOLS_METRICS_NAMESPACE: 'OmniChat',
  };

  it('returns the typed environment', () => {
    const env = readFunctionEnv('chat', chatEnv);
    expect(env.authClientIds).toEqual(['client1', 'client2']);
    expect(env.authJwks).toEqual({ keys: [] });
    expect(env.ownerCacheSeconds).toBe(30);
    expect(env.guardrailId).toBe(RESOLVED_AT_DEPLOY.GUARDRAIL_ID);
  });

  it.each([
    ['TABLE_LIMITS', undefined, 'TABLE_LIMITS must be set'],
    ['TABLE_LIMITS', '  ', 'TABLE_LIMITS must be set'],
    ['AUDIT_RETENTION_DAYS', '0', 'AUDIT_RETENTION_DAYS must be a positive integer'],
    ['OWNER_CACHE_SECONDS', '61', 'OWNER_CACHE_SECONDS must be an integer from 0 to 60'],
    ['OWNER_CACHE_SECONDS', '-1', 'OWNER_CACHE_SECONDS must be an integer from 0 to 60'],
    ['OWNER_CACHE_SECONDS', '1.5', 'OWNER_CACHE_SECONDS must be an integer from 0 to 60'],
    ['OWNER_CACHE_SECONDS', 'soon', 'OWNER_CACHE_SECONDS must be an integer from 0 to 60'],
    ['AUTH_JWKS', '[1]', 'AUTH_JWKS must be a JSON object'],
    ['AUTH_JWKS', '{', 'AUTH_JWKS must be a JSON object'],
  ])('refuses %s = %j, naming the variable', (variable, value, message) => {
    expect(() => readFunctionEnv('chat', { ...chatEnv, [variable]: value })).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => readFunctionEnv('history', {})).toThrow(
      /TABLE_AUDIT must be set; .*TABLE_LIMITS must be set/,
    );
  });
});

describe('readVariable', () => {
  it.each([
    ['0', 0],
    ['60', 60],
  ])("reads OWNER_CACHE_SECONDS=%j as %i, with the functions' format", (raw, seconds) => {
    expect(readVariable('ownerCacheSeconds', { OWNER_CACHE_SECONDS: raw })).toBe(seconds);
  });

  it('names the variable it refuses', () => {
    expect(() => readVariable('ownerCacheSeconds', { OWNER_CACHE_SECONDS: '61' })).toThrow(
      'Environment variable OWNER_CACHE_SECONDS must be an integer from 0 to 60',
    );
  });
});

describe('every function reads its variables through the contract', () => {
  const lambdaDir = new URL('../../lambda/', import.meta.url).pathname;
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? sources(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [readFileSync(join(dir, entry.name), 'utf8')]
          : [],
    );
  const code = sources(lambdaDir).join('\n');

  it.each(
    Object.entries(FUNCTION_VARIABLES)
      .filter(([, variables]) => variables.length > 0)
      .map(([name]) => name),
  )('%s: readFunctionEnv or awsAdapters is called with its name', (name) => {
    expect(code.includes(`readFunctionEnv('${name}'`) || code.includes(`awsAdapters('${name}'`)).toBe(true);
  });
});
