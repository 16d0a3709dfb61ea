/**
 * Deploy-time custom resource: fetches the user pool's JWKS from the public Cognito endpoint
 * and returns it, compact and reduced to the public-key fields, as the `Jwks` attribute. The
 * API functions run in isolated subnets with no route to that endpoint, so the stack hands
 * them this value and their verifier never fetches. Cognito does not rotate a pool's signing
 * keys, so the value resolved at creation stays valid for the pool's life.
 */
import { request } from 'node:https';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';

/**
 * Largest JWKS accepted (bytes, compact). A custom-resource response must stay under 4096
 * bytes, and the value then travels in Lambda environments (4 KB for all variables);
 * Cognito's two RS256 keys take about 900.
 */
export const MAX_JWKS_BYTES = 2048;

/** Raised when the JWKS cannot be resolved; its message becomes the CloudFormation failure reason. */
export class JwksResolutionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksResolutionError';
  }
}

/** One HTTP GET: status and body text. Injected so tests run without a network. */
export type HttpGet = (url: string) => Promise<{ status: number; body: string }>;

/** One public RSA signing key, as Cognito publishes it. */
export interface PublicJwk {
  readonly alg: string;
  readonly e: string;
  readonly kid: string;
  readonly kty: 'RSA';
  readonly n: string;
  readonly use: string;
}

const POOL_ID = /^([a-z]{2}(?:-[a-z]+)+-\d)_[A-Za-z0-9]+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The JWKS URL of a user pool; rejects ids that are not `<region>_<id>` of the given region. */
export function jwksUrl(region: string, userPoolId: string): string {
  const match = POOL_ID.exec(userPoolId);
  if (!match || match[1] !== region) {
    throw new JwksResolutionError(`UserPoolId ${JSON.stringify(userPoolId)} is not a pool of ${region}`);
  }
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}/.well-known/jwks.json`;
}

/** Validates a JWKS document and keeps only the public RSA fields, in a stable order. */
export function parseJwks(body: string): PublicJwk[] {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new JwksResolutionError('JWKS endpoint answered something that is not JSON', { cause: error });
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 10) {
    throw new JwksResolutionError('JWKS must hold 1 to 10 keys');
  }
  return keys.map((raw: unknown, index) => {
    const key = (raw ?? {}) as Record<string, unknown>;
    const field = (name: string): string => {
      const value = key[name];
      if (typeof value !== 'string' || value.length === 0) {
        throw new JwksResolutionError(`JWKS key ${index} has no ${name}`);
      }
      return value;
    };
    if (key.kty !== 'RSA') throw new JwksResolutionError(`JWKS key ${index} is not an RSA key`);
    const alg = field('alg');
    if (alg !== 'RS256') throw new JwksResolutionError(`JWKS key ${index} has algorithm ${alg}, not RS256`);
    const use = key.use === undefined ? 'sig' : field('use');
    if (use !== 'sig') throw new JwksResolutionError(`JWKS key ${index} is not a signing key`);
    const n = field('n');
    const e = field('e');
    if (!BASE64URL.test(n) || !BASE64URL.test(e)) {
      throw new JwksResolutionError(`JWKS key ${index} has a modulus or exponent that is not base64url`);
    }
    return { alg, e, kid: field('kid'), kty: 'RSA', n, use };
  });
}

/** Options of {@link resolveJwks}. */
export interface ResolveOptions {
  readonly get: HttpGet;
  /** Attempts before giving up (the endpoint of a pool created seconds ago may lag). @default 5 */
  readonly attempts?: number;
  /** Waits between attempts. @default 2 s, 4 s, 6 s ... */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Fetches and validates a pool's JWKS; returns it as compact JSON (`{"keys":[...]}`). */
export async function resolveJwks(
  region: string,
  userPoolId: string,
  options: ResolveOptions,
): Promise<string> {
  const url = jwksUrl(region, userPoolId);
  const attempts = options.attempts ?? 5;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let lastProblem = 'no attempt made';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await options.get(url);
      if (response.status === 200) {
        const compact = JSON.stringify({ keys: parseJwks(response.body) });
        if (Buffer.byteLength(compact) > MAX_JWKS_BYTES) {
          throw new JwksResolutionError(`JWKS is larger than ${MAX_JWKS_BYTES} bytes`);
        }
        return compact;
      }
      lastProblem = `HTTP ${response.status}`;
      // A client error other than "not there yet" will not heal by waiting.
      if (
        response.status >= 400 &&
        response.status < 500 &&
        response.status !== 404 &&
        response.status !== 429
      ) {
        break;
      }
    } catch (error) {
      // A malformed document is final; only transport failures are retried.
      if (error instanceof JwksResolutionError) throw error;
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (attempt < attempts) await sleep(2000 * attempt);
  }
  throw new JwksResolutionError(`Could not fetch ${url}: ${lastProblem}`);
}

/** Dependencies of {@link handleEvent}. */
export interface HandlerDeps {
  readonly get: HttpGet;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Decides the custom-resource response for an event (pure apart from `deps.get`). */
export async function handleEvent(
  event: CloudFormationCustomResourceEvent,
  deps: HandlerDeps,
): Promise<CloudFormationCustomResourceResponse> {
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  const previousId = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
  // Deleting reads nothing and removes nothing: the JWKS is only a value in the template.
  if (event.RequestType === 'Delete') {
    return { ...base, Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId };
  }
  const properties = event.ResourceProperties as Record<string, unknown>;
  const region = String(properties.Region ?? '');
  const userPoolId = String(properties.UserPoolId ?? '');
  try {
    const jwks = await resolveJwks(region, userPoolId, {
      get: deps.get,
      ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
    });
    return { ...base, Status: 'SUCCESS', PhysicalResourceId: `jwks-${userPoolId}`, Data: { Jwks: jwks } };
  } catch (error) {
    const reason =
      error instanceof JwksResolutionError ? error.message : 'JWKS resolution failed unexpectedly';
    return {
      ...base,
      Status: 'FAILED',
      Reason: reason,
      // A failed Create must still name a resource, or CloudFormation waits for the timeout.
      PhysicalResourceId: previousId ?? `jwks-unresolved-${event.RequestId}`,
    };
  }
}

/** HTTPS GET with a timeout, through node:https (no dependency in the bundle). */
export const httpsGet: HttpGet = (url) =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 64 * 1024) req.destroy(new Error('response too large'));
        else chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });

/** Sends the response to CloudFormation's pre-signed S3 URL (empty content type, as the signature expects). */
export function sendResponse(
  responseUrl: string,
  response: CloudFormationCustomResourceResponse,
): Promise<void> {
  const body = JSON.stringify(response);
  return new Promise((resolve, reject) => {
    const req = request(
      responseUrl,
      {
        method: 'PUT',
        timeout: 10_000,
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`response PUT: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('response PUT timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Lambda entry point (the custom resource's service token). */
export const handler = async (event: CloudFormationCustomResourceEvent): Promise<void> => {
  const response = await handleEvent(event, { get: httpsGet });
  console.log(
    JSON.stringify({ requestType: event.RequestType, status: response.Status, reason: response.Reason }),
  );
  await sendResponse(event.ResponseURL, response);
};
