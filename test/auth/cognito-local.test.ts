/**
 * The verifier, the owner directory and the operator scripts against cognito-local.
 *
 * cognito-local differences, adapted here and not in the verifier: its issuer is
 * `http://127.0.0.1:<port>/<poolId>` (so the verifier runs in local-issuer mode, which applies
 * the same Cognito claim rules), and it does not implement AdminUserGlobalSignOut (the
 * disable-user test records that one call in a wrapper and checks the failure path separately).
 * Like Cognito, a pool with email as user name gives each user a UUID user name; cognito-local's
 * AdminListGroupsForUser only matches that user name (not the email alias), which is also what
 * the owner directory sends (the `username` claim). cognito-local lets disabled users sign in,
 * so the disable test checks the user's `Enabled` flag instead of a refused sign-in.
 */
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminSetUserPasswordCommand,
  AdminUserGlobalSignOutCommand,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCognitoUser } from '../../lambda/auth/owner-directory-cognito';
import { DynamoDbOwnerDirectory } from '../../lambda/auth/owner-directory-dynamodb';
import { GROUP_PRECEDENCE, GROUPS } from '../../lambda/auth/permissions';
import { principalFromToken } from '../../lambda/auth/principal';
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  TokenRejectedError,
} from '../../lambda/auth/token-verifier';
import { apiKeysTable } from '../../lib/data/table-schemas';
import type { CliDeps, CognitoSender } from '../../scripts/cognito-cli';
import { main as createAdmin } from '../../scripts/cognito-create-admin';
import { main as disableUser } from '../../scripts/cognito-disable-user';
import { main as groupScript } from '../../scripts/cognito-group';
import { type CognitoLocalHandle, startCognitoLocal } from '../support/cognito-local';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';
import { albEvent, protectedHandler } from './harness';

let cognito: CognitoLocalHandle;
let dynamo: DynaliteHandle;
let keysTable: string;
let userPoolId: string;
let clientId: string;
let jwks: unknown;
let verifier: AccessTokenVerifier;
const PASSWORD = 'Correct-Horse-Battery-9';

beforeAll(async () => {
  cognito = await startCognitoLocal();
  dynamo = await startDynalite();
  keysTable = (await dynamo.createTables([apiKeysTable]))[apiKeysTable.id]!;
  const pool = await cognito.client.send(
    new CreateUserPoolCommand({ PoolName: 'omnichat-test', UsernameAttributes: ['email'] }),
  );
  userPoolId = pool.UserPool!.Id!;
  const client = await cognito.client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: 'cli',
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH'],
      // As the stack's clients: 1 h access tokens (the verifier refuses longer-lived ones).
      AccessTokenValidity: 60,
      TokenValidityUnits: { AccessToken: 'minutes' },
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
  jwks = await cognito.jwks(userPoolId);
  verifier = createAccessTokenVerifier({
    issuer: `${cognito.endpoint}/${userPoolId}`,
    jwks,
    clientIds: [clientId],
  });
});

afterAll(async () => {
  await cognito?.stop();
  await dynamo?.stop();
});

async function createUser(email: string, groups: string[] = []): Promise<void> {
  await cognito.client.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: email,
      UserAttributes: [
        { Name: 'email', Value: email },
        { Name: 'email_verified', Value: 'true' },
      ],
      MessageAction: 'SUPPRESS',
    }),
  );
  await cognito.client.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: userPoolId,
      Username: email,
      Password: PASSWORD,
      Permanent: true,
    }),
  );
  for (const group of groups)
    await groupScript(['add', '--user', email, '--group', group, ...changeArgs()], quietDeps().deps);
}

async function signIn(email: string, password = PASSWORD) {
  return cognito.client.send(
    new InitiateAuthCommand({
      ClientId: clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: email, PASSWORD: password },
    }),
  );
}

const poolArgs = () => ['--user-pool-id', userPoolId, '--region', 'local', '--endpoint', cognito.endpoint];
/** The scripts that change a user also write the owner directory. */
const changeArgs = () => [
  ...poolArgs(),
  '--api-keys-table',
  keysTable,
  '--dynamodb-endpoint',
  dynamo.endpoint,
];
const directory = () => new DynamoDbOwnerDirectory(dynamo.client, keysTable);

function quietDeps(wrap: (sender: CognitoSender) => CognitoSender = (sender) => sender) {
  const out: string[] = [];
  const err: string[] = [];
  const deps: CliDeps = {
    createClient: () => wrap(cognito.client as unknown as CognitoSender),
    createDynamo: () => dynamo.client,
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  };
  return { deps, out, err };
}

describe('tokens issued by cognito-local', () => {
  it('a USER_PASSWORD_AUTH access token passes the same verifier and maps to the user principal', async () => {
    // Prepare
    await createUser('dev@example.com', ['developer']);

    // Act
    const { AuthenticationResult: tokens } = await signIn('dev@example.com');
    const principal = principalFromToken(verifier.verify(tokens!.AccessToken!));

    // Assess
    expect(principal.kind).toBe('user');
    expect(principal.groups).toEqual(['developer']);
    expect([...principal.permissions].sort()).toEqual([
      'chat:read',
      'chat:write',
      'keys:manage',
      'metrics:read',
    ]);
  });

  it('the claim check allows and denies it by the route table', async () => {
    // Prepare
    await createUser('user@example.com', ['user']);
    const { AuthenticationResult: tokens } = await signIn('user@example.com');
    const { invoke, decisions } = protectedHandler({ verifier });
    const headers = { 'x-amzn-oidc-accesstoken': tokens!.AccessToken! };

    // Act
    const chat = await invoke(albEvent('POST', '/api/v1/chat', headers));
    const settings = await invoke(albEvent('GET', '/api/v1/admin/settings', headers));

    // Assess
    expect(chat.statusCode).toBe(200);
    expect(settings.statusCode).toBe(403);
    expect(
      decisions.filter((decision) => decision.type === 'authz').map((decision) => decision.outcome),
    ).toEqual(['allow', 'deny']);
  });

  it.each([
    [
      'its id token',
      (tokens: { IdToken?: string; AccessToken?: string }) => tokens.IdToken!,
      () => verifier,
      'wrong_token_use',
    ],
    [
      'a verifier for another app client',
      (tokens: { IdToken?: string; AccessToken?: string }) => tokens.AccessToken!,
      () =>
        createAccessTokenVerifier({
          issuer: `${cognito.endpoint}/${userPoolId}`,
          jwks,
          clientIds: ['another-client'],
        }),
      'wrong_client',
    ],
    [
      'a verifier for another pool',
      (tokens: { IdToken?: string; AccessToken?: string }) => tokens.AccessToken!,
      () =>
        createAccessTokenVerifier({
          issuer: `${cognito.endpoint}/local_Other123`,
          jwks,
          clientIds: [clientId],
        }),
      'wrong_issuer',
    ],
  ])('rejects %s', async (_name, pickToken, makeVerifier, reason) => {
    // Prepare
    await createUser(`reject-${reason}@example.com`, ['user']);
    const { AuthenticationResult: tokens } = await signIn(`reject-${reason}@example.com`);

    // Act
    let caught: unknown;
    try {
      makeVerifier().verify(pickToken(tokens!));
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(TokenRejectedError);
    expect((caught as TokenRejectedError).reason).toBe(reason);
  });
});

describe('reading a user from cognito-local (what the scripts write to the directory)', () => {
  it('reads sub, current groups and enabled state, and null for an unknown user', async () => {
    // Prepare
    await createUser('owner@example.com', ['operator', 'auditor']);
    const user = await cognito.client.send(
      new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'owner@example.com' }),
    );
    const sub = user.UserAttributes!.find((attribute) => attribute.Name === 'sub')!.Value!;

    // Act
    const state = await readCognitoUser(cognito.client, userPoolId, 'owner@example.com');
    const unknown = await readCognitoUser(cognito.client, userPoolId, 'nobody@example.com');
    await disableUser(['--user', 'owner@example.com', ...changeArgs()], quietDeps().deps);
    const disabled = await readCognitoUser(cognito.client, userPoolId, 'owner@example.com');

    // Assess
    expect(state?.sub).toBe(sub);
    expect([...(state?.groups ?? [])].sort()).toEqual(['auditor', 'operator']);
    expect(state?.enabled).toBe(true);
    expect(unknown).toBeNull();
    expect(disabled?.enabled).toBe(false);
    expect(await directory().lookup(sub)).toMatchObject({ status: 'disabled' });
  });
});

describe('operator scripts on cognito-local', () => {
  it('create-admin creates a verified admin with a temporary password that must be changed', async () => {
    // Prepare
    const { deps, out } = quietDeps();

    // Act
    const code = await createAdmin(['--email', 'Root@Example.com', '--suppress-email', ...poolArgs()], deps);

    // Assess
    expect(code).toBe(0);
    const password = out.find((line) => line.startsWith('Temporary password'))?.split(': ')[1];
    expect(password).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9]).{20}$/);
    const user = await cognito.client.send(
      new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'root@example.com' }),
    );
    const groups = await cognito.client.send(
      new AdminListGroupsForUserCommand({ UserPoolId: userPoolId, Username: user.Username! }),
    );
    expect(groups.Groups?.map((group) => group.GroupName)).toEqual(['admin']);
    expect(user.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
    expect(user.UserAttributes).toContainEqual({ Name: 'email_verified', Value: 'true' });
    const firstSignIn = await signIn('root@example.com', password!);
    expect(firstSignIn.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
  });

  it('create-admin fails with exit 1 and a clear message when the user exists', async () => {
    // Prepare
    await createUser('exists@example.com');
    const { deps, err } = quietDeps();

    // Act
    const code = await createAdmin(
      ['--email', 'exists@example.com', '--suppress-email', ...poolArgs()],
      deps,
    );

    // Assess
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/^error: UsernameExistsException/);
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('group add/remove changes the groups in the next token', async () => {
    // Prepare
    await createUser('mover@example.com', ['user']);
    const { deps, out } = quietDeps();

    // Act
    const added = await groupScript(
      ['add', '--user', 'mover@example.com', '--group', 'auditor', ...changeArgs()],
      deps,
    );
    const removed = await groupScript(
      ['remove', '--user', 'mover@example.com', '--group', 'user', ...changeArgs()],
      deps,
    );
    const { AuthenticationResult: tokens } = await signIn('mover@example.com');

    // Assess
    expect([added, removed]).toEqual([0, 0]);
    expect(out).toEqual([
      'Added mover@example.com to group auditor.',
      'Directory: mover@example.com now holds auditor, user.',
      'Removed mover@example.com from group user.',
      'Directory: mover@example.com now holds auditor; tokens and sessions issued before now are revoked.',
    ]);
    const sub = (await readCognitoUser(cognito.client, userPoolId, 'mover@example.com'))!.sub;
    expect(await directory().lookup(sub)).toMatchObject({ groups: ['auditor'], status: 'active' });
    expect((await directory().lookup(sub))!.validAfter).toBeGreaterThan(0);
    const principal = principalFromToken(verifier.verify(tokens!.AccessToken!));
    expect(principal.groups).toEqual(['auditor']);
    expect(principal.permissions.has('chat:write')).toBe(false);
  });

  it('disable-user disables, then signs out everywhere', async () => {
    // Prepare
    await createUser('leaver@example.com', ['user']);
    const signOuts: unknown[] = [];
    // cognito-local has no AdminUserGlobalSignOut: record that one call, forward the rest.
    const { deps, out } = quietDeps((sender) => ({
      send: async (command) => {
        if (command instanceof AdminUserGlobalSignOutCommand) {
          signOuts.push(command.input);
          return {};
        }
        return sender.send(command);
      },
    }));

    // Act
    const code = await disableUser(['--user', 'leaver@example.com', ...changeArgs()], deps);

    // Assess
    expect(code).toBe(0);
    expect(signOuts).toEqual([{ UserPoolId: userPoolId, Username: 'leaver@example.com' }]);
    expect(out).toEqual([
      'Disabled leaver@example.com.',
      'Directory: leaver@example.com is disabled; every token, session and API key is refused.',
      'Signed leaver@example.com out of every session.',
    ]);
    const sub = (await readCognitoUser(cognito.client, userPoolId, 'leaver@example.com'))!.sub;
    expect(await directory().lookup(sub)).toMatchObject({ groups: ['user'], status: 'disabled' });
    const user = await cognito.client.send(
      new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'leaver@example.com' }),
    );
    expect(user.Enabled).toBe(false);
  });

  it('disable-user reports a failed sign-out with exit 1, the user staying disabled', async () => {
    // Prepare
    await createUser('half@example.com', ['user']);
    const { deps, err } = quietDeps();

    // Act (the real emulator refuses AdminUserGlobalSignOut)
    const code = await disableUser(['--user', 'half@example.com', ...changeArgs()], deps);

    // Assess
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/half@example.com is disabled, but the global sign-out failed/);
    const user = await cognito.client.send(
      new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'half@example.com' }),
    );
    expect(user.Enabled).toBe(false);
  });
});
