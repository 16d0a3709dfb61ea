/**
 * `POST /api/v1/chat` with `Accept: text/event-stream` (issue 20): the chat function's
 * streaming twin, behind the load balancer's streaming rule, the `execute-api` interface
 * endpoint and the private REST API (a Lambda proxy integration in `STREAM` response transfer
 * mode, which invokes it with InvokeWithResponseStream). Same environment, tables, keys and
 * guardrail as chat (lambda/compose/function-env.ts `chat-stream`, read as chat's); its role may only stream
 * from Bedrock (lib/stacks/api/streaming.ts).
 *
 * The handler is wrapped in `awslambda.streamifyResponse`, a global of Lambda's Node.js
 * runtime, and writes its answer through `awslambda.HttpResponseStream.from` (the metadata
 * API Gateway needs before the body):
 *   https://docs.aws.amazon.com/lambda/latest/dg/config-rs-write-functions.html
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html
 * Event conversion and stream mapping: lambda/runtime/stream-transport.ts.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { awsAdapters } from '../compose/aws-adapters';
import { composeChat } from '../compose/compose-function';
import { readFunctionEnv } from '../compose/function-env';
import { createBedrockChatModel } from '../model/bedrock-converse-model';
import { createBedrockStreamingChatModel } from '../model/bedrock-converse-stream-model';
import { withStreaming } from '../model/streaming';
import { streamEntry } from '../runtime/stream-transport';

// Its own entry of the environment contract is checked first, so a missing variable fails the
// cold start under this function's name; chat's adapters then read the same variables.
readFunctionEnv('chat-stream', process.env);
const adapters = awsAdapters('chat', {
  model: (env) => {
    const options = {
      // Bounded: two attempts with the SDK's jittered backoff, inside the function's timeout.
      client: new BedrockRuntimeClient({ maxAttempts: 2 }),
      // The guardrail's ARN: the IAM condition bedrock:GuardrailIdentifier compares the ARN.
      guardrail: { identifier: env.guardrailId, version: env.guardrailVersion },
      label: 'Amazon Bedrock',
    };
    // Both sides of the model port; this function's role allows only the streaming action,
    // so `converse` (InvokeModel) would be refused by IAM if it were called.
    return withStreaming(createBedrockChatModel(options), createBedrockStreamingChatModel(options));
  },
});

export const handler = awslambda.streamifyResponse<APIGatewayProxyEvent>(
  streamEntry({
    // Only chat's composer, so the bundle carries only chat's routes (compose-function.ts).
    // Composed at load; a failure becomes the rejected promise streamEntry answers with a 500.
    route: (async () => composeChat(adapters).stream)(),
    from: (responseStream, metadata) => awslambda.HttpResponseStream.from(responseStream, metadata),
    log: adapters.powertools.logger,
  }),
);
