import { describe, expect, it } from 'vitest';
import type { CliDeps } from '../../scripts/cognito-cli';
import { main as createAdmin, temporaryPassword } from '../../scripts/cognito-create-admin';
import { main as disableUser } from '../../scripts/cognito-disable-user';
import { main as groupScript } from '../../scripts/cognito-group';

type Main = (argv: readonly string[], deps: CliDeps) => Promise<number>;

function recordingDeps() {
  const out: string[] = [];
  const err: string[] = [];
  let clientsCreated = 0;
  const deps: CliDeps = {
    createClient: () => {
      clientsCreated++;
      return { send: async () => ({}) };
    },
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  };
  return { deps, out, err, clients: () => clientsCreated };
}

const pool = ['--user-pool-id', 'eu-west-1_AbCdEf123', '--region', 'eu-west-1'];
const table = ['--api-keys-table', 'omnichat-dev-data-ApiKeys'];
const scripts: [string, Main][] = [
  ['cognito-create-admin', createAdmin],
  ['cognito-group', groupScript],
  ['cognito-disable-user', disableUser],
];

describe('operator scripts: --help', () => {
  it.each(scripts)('%s --help prints usage and exits 0 without calling Cognito', async (name, main) => {
    // Prepare
    const { deps, out, clients } = recordingDeps();

    // Act
    const code = await main(['--help'], deps);

    // Assess
    expect(code).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^usage: ${name} `));
    expect(out[0]).toContain('--user-pool-id');
    expect(clients()).toBe(0);
  });
});

describe('operator scripts: bad arguments exit 2 with a clear error', () => {
  it.each([
    ['create-admin without --email', createAdmin, [...pool], /--email is required/],
    [
      'create-admin with a bad email',
      createAdmin,
      ['--email', 'root@a@b.com', ...pool],
      /--email: not a plain email/,
    ],
    [
      'create-admin without a pool',
      createAdmin,
      ['--email', 'a@example.com', '--region', 'eu-west-1'],
      /--user-pool-id is required/,
    ],
    [
      'a malformed pool id',
      createAdmin,
      ['--email', 'a@example.com', '--user-pool-id', 'pool', '--region', 'eu-west-1'],
      /not a user pool id/,
    ],
    [
      'a malformed region',
      disableUser,
      ['--user', 'a', '--user-pool-id', 'eu-west-1_A', '--region', 'Ireland'],
      /not an AWS region/,
    ],
    ['an unknown option', disableUser, ['--user', 'a', '--force', ...pool], /Unknown option '--force'/],
    [
      'a remote plain-http endpoint',
      disableUser,
      ['--user', 'a', ...pool, '--endpoint', 'http://cognito.example.com'],
      /must be https/,
    ],
    [
      'an endpoint that is not a URL',
      disableUser,
      ['--user', 'a', ...pool, '--endpoint', 'http//broken'],
      /not a URL/,
    ],
    ['disable-user without --user', disableUser, [...pool], /--user is required/],
    [
      'disable-user without the directory table',
      disableUser,
      ['--user', 'a', ...pool],
      /--api-keys-table is required/,
    ],
    [
      'group without the directory table',
      groupScript,
      ['add', '--user', 'a', '--group', 'user', ...pool],
      /--api-keys-table is required/,
    ],
    [
      'a remote plain-http DynamoDB endpoint',
      groupScript,
      [
        'add',
        '--user',
        'a',
        '--group',
        'user',
        ...pool,
        ...table,
        '--dynamodb-endpoint',
        'http://db.example.com',
      ],
      /--dynamodb-endpoint: must be https/,
    ],
    ['a user with whitespace', disableUser, ['--user', 'a b', ...pool], /--user: not a user name/],
    ['group without an action', groupScript, ['--user', 'a', '--group', 'admin', ...pool], /add or remove/],
    [
      'group with an unknown action',
      groupScript,
      ['promote', '--user', 'a', '--group', 'admin', ...pool],
      /add or remove/,
    ],
    [
      'group with two actions',
      groupScript,
      ['add', 'remove', '--user', 'a', '--group', 'admin', ...pool],
      /add or remove/,
    ],
    [
      'group with an unknown group',
      groupScript,
      ['add', '--user', 'a', '--group', 'root', ...pool],
      /unknown group "root"/,
    ],
    [
      'group with a differently cased group',
      groupScript,
      ['add', '--user', 'a', '--group', 'Admin', ...pool],
      /unknown group/,
    ],
  ] as [string, Main, string[], RegExp][])('%s', async (_name, main, argv, message) => {
    // Prepare
    const { deps, err, clients } = recordingDeps();

    // Act
    const code = await main(argv, deps);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
    expect(err.join('\n')).toContain('--help');
    expect(clients()).toBe(0);
  });
});

describe('temporary passwords', () => {
  it('are 20 characters with every class, and differ between calls', () => {
    // Act
    const passwords = Array.from({ length: 50 }, () => temporaryPassword());

    // Assess
    for (const password of passwords)
      expect(password).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9]).{20}$/);
    expect(new Set(passwords).size).toBe(50);
  });
});
