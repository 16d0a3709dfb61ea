/**
 * DynamoDB clients for the limit and settings suites, all on loopback.
 *
 * - `freshConnectionClient`: talks to dynalite over a new connection per request. The shared
 *   support client keeps sockets alive with one attempt; a socket idle past the server's
 *   keep-alive timeout (5 s) can be reset just as it is reused, failing a request at random
 *   in a long suite. Fresh connections remove that race without adding retries that could
 *   hide a real failure.
 * - Endpoints that fail on purpose: a port nobody listens on, and a tiny HTTP server that
 *   answers every call with one DynamoDB error, the way the service reports throttling.
 *   Those clients use one attempt and short timeouts so a failing test cannot hang.
 */
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A client for dynalite with one attempt and no socket reuse. */
export function freshConnectionClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
}

/** A client with one attempt and sub-second timeouts, for an endpoint. */
export function shortTimeoutClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 300, requestTimeout: 1_000 },
  });
}

/** A loopback port that was free a moment ago and has nobody listening now. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server answering every request with the DynamoDB error `type` and `status`. */
export async function errorServer(
  type: string,
  status: number,
): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: type }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
