/**
 * Cognito pre-sign-up trigger: when self sign-up is on, admits only `ALLOWED_DOMAINS` /
 * `ALLOWED_USERS` (comma-separated). The lists are read and validated once at cold start; a
 * misconfigured trigger fails to load, so it can never admit anyone by mistake.
 */
import type { PreSignUpTriggerHandler } from 'aws-lambda';
import { parseSignUpPolicy, preSignUp } from './sign-up-policy';

const policy = parseSignUpPolicy(process.env.ALLOWED_DOMAINS, process.env.ALLOWED_USERS);

/** Lambda entry point. */
export const handler: PreSignUpTriggerHandler = async (event) => preSignUp(event, policy);
