/**
 * Hybrid mode's start-up probe of the guardrail (scripts/local-service.ts `probeGuardrail`,
 * called by `checkHybrid`): one ApplyGuardrail call whose failures become a LocalStartError
 * naming what to fix. No network: the real BedrockRuntimeClient serializes, signs and parses
 * as against AWS, but its request handler is a stub that answers as Bedrock does (status,
 * `x-amzn-errortype`, JSON body) or fails as a socket does.
 */
import { Readable } from 'node:stream';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  checkHybrid,
  GUARDRAIL_PROBE_TEXT,
  type HybridSettings,
  LocalStartError,
  localEnvironment,
  probeGuardrail,
} from '../../scripts/local-service';

const SETTINGS: HybridSettings = { region: 'eu-west-1', guardrailId: 'gr-abc123', guardrailVersion: '3' };

/** A request the stub handler received. */
interface Sent {
  readonly method: string;
  readonly hostname: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** What the stub handler does with a request. */
type Answer =
  | { readonly status: number; readonly body: unknown; readonly errorType?: string }
  | { readonly socketError: string }
  | { readonly hang: true };

const APPLIED = {
  status: 200,
  body: {
    usage: { topicPolicyUnits: 1, contentPolicyUnits: 1, wordPolicyUnits: 1 },
    action: 'NONE',
    outputs: [],
    assessments: [{}],
  },
};

/** A Bedrock runtime client whose HTTP handler is a stub: nothing leaves the process. */
function stubClient(answer: (request: Sent) => Answer, region = SETTINGS.region) {
  const sent: Sent[] = [];
  const requestHandler = {
    async handle(
      request: {
        method: string;
        hostname: string;
        path: string;
        headers: Record<string, string>;
        body?: unknown;
      },
      options?: { abortSignal?: AbortSignal },
    ) {
      const raw =
        request.body instanceof Uint8Array
          ? new TextDecoder().decode(request.body)
          : typeof request.body === 'string'
            ? request.body
            : '';
      const req: Sent = {
        method: request.method,
        hostname: request.hostname,
        path: request.path,
        headers: request.headers,
        body: raw === '' ? undefined : JSON.parse(raw),
      };
      sent.push(req);
      const a = answer(req);
      if ('hang' in a) {
        return new Promise<never>((_, reject) => {
          const abort = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
          if (options?.abortSignal?.aborted) abort();
          options?.abortSignal?.addEventListener('abort', abort);
        });
      }
      if ('socketError' in a) {
        throw Object.assign(new Error(`${a.socketError} ${request.hostname}`), { code: a.socketError });
      }
      const payload = JSON.stringify(a.body);
      return {
        response: {
          statusCode: a.status,
          reason: undefined,
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
            'x-amzn-requestid': 'stub-request',
            ...(a.errorType
              ? { 'x-amzn-errortype': `${a.errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/` }
              : {}),
          },
          body: Readable.from([Buffer.from(payload)]),
        },
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  const client = new BedrockRuntimeClient({
    region,
    credentials: { accessKeyId: 'AKIDPROBETEST', secretAccessKey: 'probe-test-secret' },
    maxAttempts: 1,
    requestHandler,
  });
  return { client, sent };
}

const awsError = (status: number, errorType: string, message: string): Answer => ({
  status,
  errorType,
  body: { message },
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('probeGuardrail', () => {
  it('asks the configured guardrail about a harmless INPUT text, signed, once', async () => {
    const { client, sent } = stubClient(() => APPLIED);
    await probeGuardrail(client, SETTINGS, 1_000);
    client.destroy();
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request?.method).toBe('POST');
    expect(request?.hostname).toBe('bedrock-runtime.eu-west-1.amazonaws.com');
    expect(request?.path).toBe('/guardrail/gr-abc123/version/3/apply');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDPROBETEST\/\d{8}\/eu-west-1\/bedrock\//,
    );
    expect(request?.body).toEqual({ source: 'INPUT', content: [{ text: { text: GUARDRAIL_PROBE_TEXT } }] });
  });

  it('passes when the guardrail intervenes: it answered, which is all the probe asks', async () => {
    const { client } = stubClient(() => ({
      status: 200,
      body: { ...APPLIED.body, action: 'GUARDRAIL_INTERVENED' },
    }));
    await expect(probeGuardrail(client, SETTINGS, 1_000)).resolves.toBeUndefined();
    client.destroy();
  });

  it.each<[string, Answer, RegExp[]]>([
    [
      'an unknown guardrail id or version',
      awsError(
        404,
        'ResourceNotFoundException',
        'The guardrail identifier or version provided in the request does not exist.',
      ),
      [
        /has no guardrail "gr-abc123" version 3 in eu-west-1/,
        /--guardrail-id, --guardrail-version/,
        /--region/,
        /does not exist/,
      ],
    ],
    [
      'a missing permission',
      awsError(
        403,
        'AccessDeniedException',
        'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: bedrock:ApplyGuardrail',
      ),
      [/may not use guardrail "gr-abc123" version 3 in eu-west-1/, /bedrock:ApplyGuardrail/, /AWS_PROFILE/],
    ],
    [
      'a malformed guardrail id',
      awsError(
        400,
        'ValidationException',
        "1 validation error detected: Value at 'guardrailIdentifier' failed to satisfy constraint",
      ),
      [
        /refused guardrail "gr-abc123" version 3 in eu-west-1 as invalid/,
        /--guardrail-id/,
        /ValidationException/,
      ],
    ],
    [
      'an unknown access key',
      awsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
      [/did not accept the credentials/, /aws sso login/, /UnrecognizedClientException/],
    ],
    [
      'a wrong secret key',
      awsError(
        403,
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided.',
      ),
      [/did not accept the credentials/],
    ],
    [
      'an expired session',
      awsError(403, 'ExpiredTokenException', 'The security token included in the request is expired'),
      [/did not accept the credentials/, /session expired/],
    ],
    [
      'a region without an endpoint (DNS)',
      { socketError: 'ENOTFOUND' },
      [/could not reach Bedrock in eu-west-1/, /--region or AWS_REGION/, /ENOTFOUND/],
    ],
    ['a refused connection', { socketError: 'ECONNREFUSED' }, [/could not reach Bedrock/, /proxy/]],
    [
      'an outage',
      awsError(503, 'ServiceUnavailableException', 'Service unavailable'),
      [/start-up check of guardrail "gr-abc123"/, /Try again/],
    ],
  ])('turns %s into a LocalStartError naming what to fix', async (_name, answer, messages) => {
    const { client } = stubClient(() => answer);
    const error = await probeGuardrail(client, SETTINGS, 1_000).catch((e: unknown) => e);
    client.destroy();
    expect(error).toBeInstanceOf(LocalStartError);
    for (const message of messages) expect((error as Error).message).toMatch(message);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('gives up after its timeout when Bedrock does not answer', async () => {
    const { client } = stubClient(() => ({ hang: true }));
    const started = Date.now();
    const error = await probeGuardrail(client, SETTINGS, 150).catch((e: unknown) => e);
    client.destroy();
    expect(error).toBeInstanceOf(LocalStartError);
    expect((error as Error).message).toMatch(/could not reach Bedrock in eu-west-1 within 150 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('checkHybrid probes the guardrail before anything starts', () => {
  const config = localEnvironment();
  const env = {
    PATH: process.env.PATH,
    AWS_ACCESS_KEY_ID: 'AKIDPROBETEST',
    AWS_SECRET_ACCESS_KEY: 'probe-test-secret',
    AWS_REGION: 'eu-west-1',
  };

  it('hands back the client once the guardrail answered', async () => {
    const regions: string[] = [];
    let stub: ReturnType<typeof stubClient> | undefined;
    const { settings, client } = await checkHybrid(
      { guardrailId: 'gr-abc123', guardrailVersion: '3', region: 'eu-central-1' },
      env,
      config,
      {
        createClient: (region) => {
          regions.push(region);
          stub = stubClient(() => APPLIED, region);
          return stub.client;
        },
      },
    );
    expect(regions).toEqual(['eu-central-1']);
    expect(settings).toEqual({ region: 'eu-central-1', guardrailId: 'gr-abc123', guardrailVersion: '3' });
    expect(client).toBe(stub?.client);
    expect(stub?.sent.map((r) => r.path)).toEqual(['/guardrail/gr-abc123/version/3/apply']);
    client.destroy();
  });

  it('refuses to start on a guardrail Bedrock does not have, and closes the client', async () => {
    const stub = stubClient(() => awsError(404, 'ResourceNotFoundException', 'does not exist'));
    const destroy = vi.spyOn(stub.client, 'destroy');
    await expect(
      checkHybrid({ guardrailId: 'gr-typo', guardrailVersion: '9' }, env, config, {
        createClient: () => stub.client,
      }),
    ).rejects.toThrow(/has no guardrail "gr-typo" version 9 in eu-west-1/);
    expect(destroy).toHaveBeenCalled();
  });
});
