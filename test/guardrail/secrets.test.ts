import { describe, expect, it } from 'vitest';
import { findSecrets, type SecretKind, shannonEntropy } from '../../lambda/guardrail/secrets';
import { fill, growthRatio, LINEAR_RATIO_LIMIT } from './linear-time';

const kinds = (text: string): SecretKind[] => findSecrets(text).map((f) => f.kind);
// Built at run time so no scanner mistakes the fixtures for real credentials.
const jwt = [
  Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url'),
  Buffer.from('{"sub":"1234567890","name":"x"}').toString('base64url'),
  'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
].join('.');
const pem = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEAuZk3', '-----END RSA PRIVATE KEY-----'].join(
  '\n',
);

describe('findSecrets: hits', () => {
  it.each<[string, string, SecretKind]>([
    ['AWS access key id', 'key AKIAIOSFODNN7EXAMPLE here', 'aws_access_key'],
    ['AWS temporary key id', 'ASIAY34FZKBOKMUTVV7A', 'aws_access_key'],
    [
      'AWS secret in config',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'aws_secret_key',
    ],
    ['private key block', `here:\n${pem}\nthanks`, 'private_key'],
    ['JWT', `token ${jwt}`, 'jwt'],
    ['bearer header', 'Authorization: Bearer 8f3kQz91LmPx7Rt2Vb6Nc4Ws0Ye5Ua', 'bearer_token'],
    ['basic auth header', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', 'bearer_token'],
    ['password assignment', 'db_password=Tr0ub4dor&3', 'password'],
    ['JSON pwd', '{"pwd": "s3cr3t-Value"}', 'password'],
    ['password in a sentence', 'my password is hunter22', 'password'],
    ['credentials in a URL', 'postgres://admin:Sup3rS3cret@db.internal:5432/app', 'password'],
    ['GitHub token', `ghp_${'a1B2c3D4e5'.repeat(3)}a1B2c3`, 'api_key'],
    ['this service API key', `ak_${'Ab1_-'.repeat(8)}Ab1`, 'api_key'],
    ['high-entropy api_key', 'api_key: "Zx8Qw2Lp9Rt4Vb7Nm3Kc6Hs1"', 'api_key'],
  ])('%s', (_name, text, kind) => {
    expect(kinds(text)).toEqual([kind]);
  });

  it.each<[string, string, SecretKind]>([
    ['AWS key id spaced out', 'my key: A K I A I O S F O D N N 7 E X A M P L E ok', 'aws_access_key'],
    [
      'AWS key id and secret in base64',
      `creds ${Buffer.from('AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').toString('base64')}`,
      'aws_access_key',
    ],
    [
      'AWS secret assignment in hex',
      Buffer.from('aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').toString('hex'),
      'aws_secret_key',
    ],
    [
      'GitHub token in base64url',
      Buffer.from(`ghp_${'a1B2c3D4e5'.repeat(3)}a1B2c3`).toString('base64url'),
      'api_key',
    ],
  ])('hidden: %s (masked over the whole spelled or encoded span)', (_name, text, kind) => {
    const found = findSecrets(text);
    expect(found.map((f) => f.kind)).toEqual([kind]);
    expect(text.slice(found[0]?.end)).not.toMatch(/[A-Za-z0-9]{8}/);
  });

  it('masks a PEM block through its END line, and an unterminated one to the end', () => {
    const text = `a ${pem} b`;
    const [finding] = findSecrets(text);
    expect(text.slice(finding?.start, finding?.end)).toBe(pem);
    const open = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE';
    expect(findSecrets(open)).toEqual([{ kind: 'private_key', start: 0, end: open.length }]);
  });
});

describe('findSecrets: near misses', () => {
  it.each([
    ['access key id too short', 'AKIAIOSFODNN7EXAMP'],
    ['access key id lower case', 'akiaiosfodnn7example'],
    ['public key block', '-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----'],
    [
      'JWT-shaped text without a JWT header',
      'eyJhbGciOi.eyJzdWIiOi.abc'.replace('eyJhbGciOi', 'eyJub3RoaW5n'),
    ],
    ['password placeholder', 'password: <your password>'],
    ['password variable', `password=$${'{'}DB_PASSWORD}`],
    ['masked password', 'password: ********'],
    ['password talk', 'What is a good password policy?'],
    ['low-entropy token value', 'token = aaaaaaaaaaaaaaaaaaaa'],
    ['secret as prose', 'secret: the garden behind the house'],
    ['key name that only ends in key', 'monkey = Zx8Qw2Lp9Rt4Vb7Nm3Kc6Hs1'],
    ['our own mask', 'password={SECRET}'],
    ['a sentence spelled out', 'I T I S A S P A C E D S E N T E N C E X'],
    ['base64 of ordinary text', Buffer.from('just an ordinary sentence here').toString('base64')],
    ['hex of ordinary text', Buffer.from('just an ordinary sentence here').toString('hex')],
  ])('%s', (_name, text) => {
    expect(findSecrets(text)).toEqual([]);
  });
});

describe('entropy', () => {
  it('is zero for a repeated character and log2(n) for n distinct ones', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});

describe('linear time on hostile input (50,000 characters vs 10 x 5,000, same run)', () => {
  const hostile: Record<string, (chars: number) => string> = {
    'key names without values': (n) => fill('api_key=', n),
    'token prefix runs': (n) => fill('sk-', n),
    'bearer then a long run': (n) => `Bearer ${'A'.repeat(n)}`,
    'JWT-like dots': (n) => fill('eyJ', n / 2) + '.'.repeat(n / 2),
    'PEM begins without ends': (n) => fill('-----BEGIN RSA PRIVATE KEY-----', n),
    'password separators': (n) => fill('password:', n),
    'URL credential openers': (n) => fill('://a:', n),
    'spaced-out letters': (n) => fill('A K I A ', n),
    'base64 run': (n) => fill('QUtJQU', n),
  };
  it.each(Object.entries(hostile))('%s', (_name, make) => {
    expect(growthRatio(findSecrets, make)).toBeLessThan(LINEAR_RATIO_LIMIT);
  });
});
