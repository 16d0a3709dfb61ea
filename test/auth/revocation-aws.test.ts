/**
 * Issue 17, reproduced with the AWS wiring on the emulators: cognito-local for the pool (users,
 * groups, RS256 access tokens), dynalite for the tables, and the same function factories and
 * claim check the Lambda entries use. An admin creates a key with admin scopes, is demoted,
 * disabled, re-enabled and erases their data; every credential must follow within the bound.
 */
import { randomBytes } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFunction, historyFunction, keysFunction } from '../../lambda/app/functions';
import { composeServices } from '../../lambda/app/services';
import { createEventIdGenerator } from '../../lambda/audit/event';
import { createDynamoAuditWriter, failClosed } from '../../lambda/audit/writer';
import { DynamoDbApiKeyStore } from '../../lambda/auth/api-key-store-dynamodb';
import { cachedOwnerDirectory } from '../../lambda/auth/api-keys';
import { DynamoDbOwnerDirectory } from '../../lambda/auth/owner-directory-dynamodb';
import { GROUP_PRECEDENCE, GROUPS } from '../../lambda/auth/permissions';
import { createAccessTokenVerifier } from '../../lambda/auth/token-verifier';
import { LocalDataKeys } from '../../lambda/crypto/local-data-keys';
import { auditDecisions, createAuditSink } from '../../lambda/runtime/audit-sink';
import {
  apiKeysTable,
  auditTable,
  conversationsTable,
  limitsTable,
  settingsTable,
} from '../../lib/data/table-schemas';
import type { CliDeps, CognitoSender } from '../../scripts/cognito-cli';
import { main as disableUser } from '../../scripts/cognito-disable-user';
import { main as groupScript } from '../../scripts/cognito-group';
import { DEPLOY } from '../api/harness';
import { type CognitoLocalHandle, startCognitoLocal } from '../support/cognito-local';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';

/** The directory cache of this wiring; the bound the test holds the service to. */
const CACHE_MS = 1_000;
const PASSWORD = 'Correct-Horse-Battery-9';
const EMAIL = 'ada@example.com';

let cognito: CognitoLocalHandle;
let dynamo: DynaliteHandle;
let userPoolId: string;
let clientId: string;
let tables: Record<string, string>;
let handlers: {
  keys: (event: ALBEvent) => Promise<ALBResult>;
  admin: (event: ALBEvent) => Promise<ALBResult>;
  history: (event: ALBEvent) => Promise<ALBResult>;
};

const context = () => ({ awsRequestId: `req-${randomBytes(4).toString('hex')}` }) as Context;

function event(method: string, path: string, headers: Record<string, string>, body?: unknown): ALBEvent {
  return {
    requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1' } },
    httpMethod: method,
    path,
    queryStringParameters: {},
    headers: {
      'x-forwarded-for': '203.0.113.9',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const poolArgs = () => ['--user-pool-id', userPoolId, '--region', 'local', '--endpoint', cognito.endpoint];

function cliDeps(): CliDeps {
  return {
    createClient: () => cognito.client as unknown as CognitoSender,
    stdout: () => undefined,
    stderr: () => undefined,
  };
}

async function signIn(): Promise<string> {
  const { AuthenticationResult: result } = await cognito.client.send(
    new InitiateAuthCommand({
      ClientId: clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: EMAIL, PASSWORD },
    }),
  );
  return result!.AccessToken!;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function status(
  target: keyof typeof handlers,
  method: string,
  path: string,
  headers: Record<string, string>,
) {
  return (await handlers[target](event(method, path, headers))).statusCode;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  [cognito, dynamo] = await Promise.all([startCognitoLocal(), startDynalite()]);
  const pool = await cognito.client.send(
    new CreateUserPoolCommand({ PoolName: 'omnichat-revocation', UsernameAttributes: ['email'] }),
  );
  userPoolId = pool.UserPool!.Id!;
  const client = await cognito.client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: 'cli',
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH'],
    }),
  );
  clientId = client.UserPoolClient!.ClientId!;
  for (const group of GROUPS) {
    await cognito.client.send(
      new CreateGroupCommand({
        UserPoolId: userPoolId,
        GroupName: group,
        Precedence: GROUP_PRECEDENCE[group],
      }),
    );
  }
  await cognito.client.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: EMAIL,
      UserAttributes: [
        { Name: 'email', Value: EMAIL },
        { Name: 'email_verified', Value: 'true' },
      ],
      MessageAction: 'SUPPRESS',
    }),
  );
  await cognito.client.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: userPoolId,
      Username: EMAIL,
      Password: PASSWORD,
      Permanent: true,
    }),
  );
  expect(await groupScript(['add', '--user', EMAIL, '--group', 'admin', ...poolArgs()], cliDeps())).toBe(0);

  tables = await dynamo.createTables([
    apiKeysTable,
    auditTable,
    conversationsTable,
    limitsTable,
    settingsTable,
  ]);
  const verifier = createAccessTokenVerifier({
    issuer: `${cognito.endpoint}/${userPoolId}`,
    jwks: await cognito.jwks(userPoolId),
    clientIds: [clientId],
  });
  const count = () => undefined;
  const audit = createAuditSink(
    failClosed(
      createDynamoAuditWriter({ client: dynamo.client, tableName: tables[auditTable.id]!, ttlDays: 30 }),
      { metrics: { addMetric: () => undefined }, logger: { error: () => undefined } },
    ),
    { now: () => new Date(), ids: createEventIdGenerator() },
  );
  const apiKeyStore = new DynamoDbApiKeyStore(dynamo.client, tables[apiKeysTable.id]!);
  const owners = new DynamoDbOwnerDirectory(dynamo.client, tables[apiKeysTable.id]!);
  const claimCheck = {
    verifier,
    apiKeys: { store: apiKeyStore, owners: cachedOwnerDirectory(owners, { ttlMs: CACHE_MS }) },
    onDecision: auditDecisions(audit, count),
  };
  const base = { claimCheck, audit };
  const services = composeServices({
    dynamo: dynamo.client,
    tables: {
      conversations: tables[conversationsTable.id]!,
      limits: tables[limitsTable.id]!,
      settings: tables[settingsTable.id]!,
      audit: tables[auditTable.id]!,
    },
    keys: new LocalDataKeys(randomBytes(32)),
    deploy: DEPLOY,
    base,
    apiKeyStore,
    count,
  });
  const keys = keysFunction({ ...base, store: apiKeyStore, owners });
  const admin = adminFunction({ ...base, ...services.admin });
  const history = historyFunction({ ...base, history: services.history });
  handlers = {
    keys: (e) => keys(e, context()),
    admin: (e) => admin(e, context()),
    history: (e) => history(e, context()),
  };
}, 60_000);

afterAll(async () => {
  await cognito?.stop();
  await dynamo?.stop();
});

describe('issue 17: rights follow the user (AWS wiring on cognito-local + dynalite)', () => {
  it('demote, disable, re-enable and erase: key, session and old token lose their rights within the bound', async () => {
    // Prepare: an admin session and a key carrying admin permissions.
    const adminToken = await signIn();
    const created = await handlers.keys(
      event('POST', '/api/v1/keys', bearer(adminToken), {
        name: 'ops',
        permissions: ['audit:read', 'system:configure', 'chat:read'],
      }),
    );
    expect(created.statusCode).toBe(201);
    const apiKey = { 'x-api-key': (JSON.parse(created.body ?? '{}') as { key: string }).key };
    expect(await status('admin', 'GET', '/api/v1/admin/audit', apiKey)).toBe(200);

    // Act 1: demotion to user.
    expect(await groupScript(['add', '--user', EMAIL, '--group', 'user', ...poolArgs()], cliDeps())).toBe(0);
    expect(await groupScript(['remove', '--user', EMAIL, '--group', 'admin', ...poolArgs()], cliDeps())).toBe(
      0,
    );
    await sleep(CACHE_MS + 100);
    const userToken = await signIn();

    // Assess 1: within the bound, no credential reaches an admin route.
    expect.soft(await status('admin', 'GET', '/api/v1/admin/audit', apiKey), 'key, audit').toBe(403);
    expect.soft(await status('admin', 'GET', '/api/v1/admin/settings', apiKey), 'key, settings').toBe(403);
    expect
      .soft(await status('admin', 'GET', '/api/v1/admin/audit', bearer(userToken)), 'new token')
      .toBe(403);
    expect
      .soft(await status('admin', 'GET', '/api/v1/admin/audit', bearer(adminToken)), 'old token')
      .not.toBe(200);
    const minted = await handlers.keys(
      event('POST', '/api/v1/keys', bearer(adminToken), { name: 'again', permissions: ['audit:read'] }),
    );
    expect.soft(minted.statusCode, 'old token mints an admin key').not.toBe(201);
    // The key keeps what the owner still holds.
    expect.soft(await status('history', 'GET', '/api/v1/conversations', apiKey), 'key, chat:read').toBe(200);

    // Act 2: disable.
    await disableUser(['--user', EMAIL, ...poolArgs()], cliDeps());
    await sleep(CACHE_MS + 100);

    // Assess 2: 401 everywhere.
    expect.soft(await status('history', 'GET', '/api/v1/conversations', apiKey), 'disabled: key').toBe(401);
    expect
      .soft(await status('history', 'GET', '/api/v1/conversations', bearer(userToken)), 'disabled: token')
      .toBe(401);
  }, 60_000);
});
