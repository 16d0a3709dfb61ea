/**
 * `POST /api/v1/chat` and `GET /api/v1/models`: the only function whose role may invoke
 * Bedrock, and only the allow-listed models with this environment's guardrail version.
 * Wired by the composition root (lambda/compose/compose-function.ts). The environment is read
 * and the clients built at module load, in the init phase ("Node.js initialization":
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html).
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { awsAdapters } from '../compose/aws-adapters';
import { composeChat } from '../compose/compose-function';
import { createBedrockChatModel } from '../model/bedrock-converse-model';

const adapters = awsAdapters('chat', {
  model: (env) =>
    createBedrockChatModel({
      // Bounded: two attempts with the SDK's jittered backoff, inside the function's timeout.
      client: new BedrockRuntimeClient({ maxAttempts: 2 }),
      // The guardrail's ARN: the IAM condition bedrock:GuardrailIdentifier compares the ARN.
      guardrail: { identifier: env.guardrailId, version: env.guardrailVersion },
      label: 'Amazon Bedrock',
    }),
});

export const handler = composeChat(adapters).handler.use(logMetrics(adapters.powertools.metrics));
