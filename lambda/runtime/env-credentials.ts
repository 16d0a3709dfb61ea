/**
 * What the function bundles use in place of `@aws-sdk/credential-provider-node` (esbuild
 * `alias`, lib/constructs/function-bundling.ts): the SDK clients' default credential chain
 * reduced to its first link, the environment. Lambda gives every function its execution
 * role's credentials as `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
 * ("Defined runtime environment variables":
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * so the chain's other links (SSO, shared ini files, credential processes, web identity,
 * container and instance metadata) never run in a function. Bundled, they are about 90 KB
 * that every cold start parses, and their dynamic imports make esbuild wrap the SDK modules
 * they share in lazy initialisers, which it cannot tree-shake.
 *
 * Only the bundles use it; local mode, the tests and the scripts keep the SDK's full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The clients' `credentialDefaultProvider`: the execution role's credentials from the environment. */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
