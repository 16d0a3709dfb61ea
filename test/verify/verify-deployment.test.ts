/**
 * `npm run verify:deployment`: the HTTP checks against the real local mode (`npm run local`)
 * and a deliberately wrong server, the AWS checks against moto where moto implements the calls.
 * Not covered here (no emulator implements them; see docs/first-deploy.md): the TLS handshake
 * and port-80 checks, the WAF AI-001 check, WAF associations, Bedrock guardrail versions and
 * model access, and IAM policy simulation.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CognitoIdentityProviderClient,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateFlowLogsCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironments } from '../../lib/config/load';
import { auditArchiveBucketName } from '../../lib/stacks/data-stack';
import { type AwsClients, awsChecks, awsClients } from '../../scripts/verify/aws-checks';
import { runChecks } from '../../scripts/verify/report';
import { isLocal, parseArgs, verify } from '../../scripts/verify-deployment';
import { freePort, type MotoHandle, startMoto } from '../support/moto';

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

describe('verify:deployment arguments', () => {
  it.each([
    [[], /--env is required/],
    [['--env', 'dev', '--bogus'], /unknown argument "--bogus"/],
    [['--env', 'dev', '--url', 'https://chat.example.com/path'], /--url must be an origin/],
  ])('refuses %j with the usage', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('treats plain HTTP on loopback as local mode, anything else as live', () => {
    expect(isLocal('http://127.0.0.1:3000')).toBe(true);
    expect(isLocal('https://127.0.0.1:3000')).toBe(false);
    expect(isLocal('http://chat.example.com')).toBe(false);
  });
});

describe('verify:deployment against local mode', () => {
  let local: ChildProcess;
  let dataDir: string;
  let baseUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'omnichat-verify-'));
    baseUrl = `http://127.0.0.1:${port}`;
    local = spawn(process.execPath, ['--import', 'tsx', 'scripts/local.ts'], {
      env: { ...process.env, PORT: String(port), OMNICHAT_LOCAL_DIR: dataDir },
      stdio: 'ignore',
    });
    await waitFor(`${baseUrl}/healthz`, 90_000);
  });

  afterAll(() => {
    local?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('passes every check that applies without TLS, a WAF and AWS, and says why the rest are skipped', async () => {
    const rows = await verify({ env: 'dev', url: baseUrl, skipAws: false });
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(rows.filter((r) => r.status === 'fail')).toEqual([]);
    for (const id of [
      'healthz',
      'security-headers',
      'api-unauthenticated-401',
      'stream-unauthenticated-401',
      'page-redirects-to-login',
      'oversized-body-413',
    ]) {
      expect(byId[id]?.status, id).toBe('pass');
    }
    for (const id of ['tls-1.3-only', 'http-redirects-to-https', 'ai-001-phrase-blocked', 'aws-api-checks']) {
      expect(byId[id]?.status, id).toBe('skip');
      expect(byId[id]?.why.length).toBeGreaterThan(10);
    }
  });

  it('exits 0 from the command line', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/verify-deployment.ts', '--env', 'dev', '--url', baseUrl],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\| https \| healthz \| PASS \| 200 \|/);
    expect(run.stdout).toMatch(/0 failed/);
  });
});

describe('verify:deployment against a server that gets everything wrong', () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    // 200 with no security headers for everything, and it accepts any body size.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fails each broken check with the reason, and the command exits 1', async () => {
    const rows = await verify({ env: 'dev', url: baseUrl, skipAws: false });
    const failed = Object.fromEntries(rows.filter((r) => r.status === 'fail').map((r) => [r.id, r.why]));
    expect(Object.keys(failed).sort()).toEqual(
      [
        'api-unauthenticated-401',
        'oversized-body-413',
        'page-redirects-to-login',
        'security-headers',
        'stream-unauthenticated-401',
      ].sort(),
    );
    expect(failed['security-headers']).toMatch(/x-content-type-options/);
    expect(failed['stream-unauthenticated-401']).toMatch(/no credentials: 200/);
    // Asynchronously: the wrong server runs in this process and must keep answering.
    const run = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [
        '--import',
        'tsx',
        'scripts/verify-deployment.ts',
        '--env',
        'dev',
        '--url',
        baseUrl,
      ]);
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.on('close', (status) => resolve({ status, stdout }));
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/\| FAIL \|/);
  });

  it('fails (not crashes) when nothing listens', async () => {
    const port = await freePort();
    const rows = await verify({ env: 'dev', url: `http://127.0.0.1:${port}`, skipAws: false });
    expect(rows.find((r) => r.id === 'healthz')).toMatchObject({
      status: 'fail',
      why: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});

describe('verify:deployment AWS checks against moto', () => {
  let moto: MotoHandle;
  let clients: AwsClients;
  const config = loadEnvironments('dev')[0]!;
  const ids = [
    'user-pool-mfa-and-plan',
    'alarms-have-actions',
    'log-groups-encrypted',
    'audit-bucket-object-lock',
    'flow-logs-active',
  ];
  const run = async () =>
    Object.fromEntries(
      (await runChecks(awsChecks({ config, clients }).filter((c) => ids.includes(c.id)))).map((r) => [
        r.id,
        r,
      ]),
    );

  beforeAll(async () => {
    moto = await startMoto();
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    clients = awsClients(config.region);
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL;
    await moto?.stop();
  });

  it('fails every check while the environment is missing', async () => {
    const rows = await run();
    for (const id of ids) expect(rows[id]?.status, `${id}: ${rows[id]?.why}`).toBe('fail');
  });

  it('passes once the resources exist as the stacks create them', async () => {
    const region = config.region;
    const kms = new KMSClient({ region });
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const cognito = new CognitoIdentityProviderClient({ region });
    await cognito.send(
      new CreateUserPoolCommand({
        PoolName: `omnichat-${config.name}`,
        MfaConfiguration: 'ON',
        UserPoolTier: 'PLUS',
      }),
    );
    const logs = new CloudWatchLogsClient({ region });
    await logs.send(
      new CreateLogGroupCommand({
        logGroupName: `aws-waf-logs-omnichat-${config.name}-${region}`,
        kmsKeyId: key,
      }),
    );
    const cloudwatch = new CloudWatchClient({ region });
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: `omnichat-${config.name}-AuthzDenied`,
        MetricName: 'AuthzDenied',
        Namespace: 'OmniChat',
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [`arn:aws:sns:${region}:${config.account}:omnichat-${config.name}-critical`],
      }),
    );
    const s3 = new S3Client({ region, forcePathStyle: true });
    const bucket = auditArchiveBucketName(config);
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ObjectLockEnabledForBucket: true,
        CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
      }),
    );
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: config.audit.objectLockMode, Days: 30 } },
        },
      }),
    );
    const ec2 = new EC2Client({ region });
    const vpc = (
      await ec2.send(
        new CreateVpcCommand({
          CidrBlock: config.network.vpcCidr,
          TagSpecifications: [
            {
              ResourceType: 'vpc',
              Tags: [
                { Key: 'project', Value: 'omnichat' },
                { Key: 'environment', Value: config.name },
              ],
            },
          ],
        }),
      )
    ).Vpc!.VpcId!;
    await ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [vpc],
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
        LogGroupName: `omnichat-${config.name}-flow-logs`,
        DeliverLogsPermissionArn: `arn:aws:iam::${config.account}:role/flow-logs`,
      }),
    );
    const rows = await run();
    for (const id of ids) expect(rows[id]?.status, `${id}: ${rows[id]?.why}`).toBe('pass');
  });

  it('fails log-groups-encrypted when one log group of the environment has no key', async () => {
    const logs = new CloudWatchLogsClient({ region: config.region });
    await logs.send(
      new CreateLogGroupCommand({ logGroupName: `/aws/lambda/omnichat-${config.name}-api-Plain` }),
    );
    const rows = await run();
    expect(rows['log-groups-encrypted']).toMatchObject({
      status: 'fail',
      why: expect.stringMatching(/Plain/),
    });
  });
});
