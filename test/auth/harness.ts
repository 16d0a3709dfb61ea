/**
 * Test wiring for the claim check: a minimal HTTP edge (typed error -> JSON body, like the
 * service's edge) around `claimCheck`, and ALB event builders.
 */
import middy from '@middy/core';
import type { ALBEvent, ALBResult, Context } from 'aws-lambda';
import { type AuthContext, type ClaimCheckOptions, claimCheck } from '../../lambda/auth/claim-check';
import type { AuthDecision } from '../../lambda/auth/principal';
import { OmniChatError } from '../../lambda/shared/errors';

/** Builds an ALB event. */
export function albEvent(method: string, path: string, headers: Record<string, string> = {}): ALBEvent {
  return {
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/t/1' },
    },
    httpMethod: method,
    path,
    queryStringParameters: {},
    headers,
    body: null,
    isBase64Encoded: false,
  };
}

const lambdaContext = { awsRequestId: 'req-1' } as Context;

/** A handler behind the claim check that echoes the principal; decisions are collected. */
export function protectedHandler(
  options: Omit<ClaimCheckOptions, 'onDecision'> & Partial<ClaimCheckOptions>,
) {
  const decisions: AuthDecision[] = [];
  const onDecision = options.onDecision ?? ((decision: AuthDecision) => void decisions.push(decision));
  const handler = middy<ALBEvent, ALBResult, Error, AuthContext>()
    .use({
      onError: (request) => {
        const error = request.error;
        const known = error instanceof OmniChatError ? error : undefined;
        request.response = {
          statusCode: known?.status ?? 500,
          headers: { 'content-type': 'application/json', ...(known?.headers ?? {}) },
          body: JSON.stringify({
            error: {
              code: known?.code ?? 'internal_error',
              message: known?.isClientError ? known.message : 'Internal error.',
              requestId: request.context.awsRequestId,
            },
          }),
        };
      },
    })
    .use(claimCheck({ ...options, onDecision }))
    .handler(async (_event, context) => ({
      statusCode: 200,
      body: JSON.stringify({
        kind: context.principal?.kind ?? null,
        sub: context.principal?.sub ?? null,
        permissions: [...(context.principal?.permissions ?? [])].sort(),
      }),
    }));
  return {
    decisions,
    invoke: (event: ALBEvent) => handler(event, { ...lambdaContext }) as Promise<ALBResult>,
  };
}
