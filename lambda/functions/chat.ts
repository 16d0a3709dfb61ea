/**
 * `POST /api/v1/chat` and `GET /api/v1/models`: the only function whose role may invoke
 * Bedrock, and only the allow-listed models with this environment's guardrail version.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { chatFunction } from '../app/functions';
import { createBedrockChatModel } from '../model/bedrock-converse-model';
import { createAwsCommon } from '../runtime/aws-common';
import { createAwsServices } from '../runtime/aws-services';
import { ENV, requireEnv } from '../runtime/env';

const common = createAwsCommon('chat');
const services = createAwsServices(common);
const model = createBedrockChatModel({
  // Bounded: two attempts with the SDK's jittered backoff, inside the function's timeout.
  client: new BedrockRuntimeClient({ maxAttempts: 2 }),
  guardrail: {
    // The guardrail's ARN: the IAM condition bedrock:GuardrailIdentifier compares the ARN.
    identifier: requireEnv(ENV.guardrailId),
    version: requireEnv(ENV.guardrailVersion),
  },
  label: 'Amazon Bedrock',
});

export const handler = chatFunction({
  claimCheck: common.claimCheck,
  audit: common.audit,
  log: common.observability.logger,
  chat: services.chat(model),
}).use(logMetrics(common.observability.metrics));
