/**
 * The contract between the streaming chat route (`POST /api/v1/chat` with
 * `Accept: text/event-stream`, issue 20) and the transports that carry it: the Lambda entry
 * wrapped in `awslambda.streamifyResponse` behind the private REST API, local mode's server,
 * the tests and the bench. Types only, so each side can be built and tested apart.
 *
 * The request arrives in the ALB event shape every other route uses (method, path, lower-case
 * headers, body, `isBase64Encoded`), so the same HTTP edge and claim check run on it; a
 * transport whose native event differs (API Gateway's proxy event) converts it first.
 */
import type { ALBEvent } from 'aws-lambda';

/** Where the route writes its answer. Nothing is sent before {@link StreamResponse.start}. */
export interface StreamResponse {
  /** Status and headers; called exactly once, before the first write. */
  start(statusCode: number, headers: Readonly<Record<string, string>>): void;
  /** One or more complete SSE frames (or, for a non-streaming answer, the body). */
  write(chunk: string): void;
  /** The answer is complete; no write follows. */
  end(): void;
}

/** What the transport knows about the call. */
export interface StreamCallContext {
  readonly awsRequestId: string;
  readonly functionName?: string;
  /** Aborted when the client goes away: the route stops the model call and settles tokens. */
  readonly signal: AbortSignal;
  /** The invocation's time left, as the Lambda context has it (middy answers early before a timeout). */
  readonly getRemainingTimeInMillis?: () => number;
}

/**
 * The streaming route. It never throws: every failure is written as a JSON error answer (before
 * `start`) or as an `event: error` frame (after it), and logged once if unexpected.
 */
export type ChatStreamHandler = (
  event: ALBEvent,
  response: StreamResponse,
  context: StreamCallContext,
) => Promise<void>;
