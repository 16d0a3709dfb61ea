import { z } from 'zod';
import { RESOURCE_SERVER_SCOPES } from '../../lambda/auth/permissions';

/**
 * The Identity section of an environment's configuration: what differs between dev,
 * staging and prod for the Cognito user pool, its clients and its federation. Everything
 * that must hold everywhere (MFA, password policy, token lifetimes) is fixed in code.
 */

/** Scope names of the `omnichat` resource server (`chat.read`, ...), from the one permissions table. */
export const OMNICHAT_SCOPE_NAMES = RESOURCE_SERVER_SCOPES.map((scope) => scope.scopeName);

const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'must be a lower-case DNS host name such as chat.example.com',
  );

const httpsUrl = z
  .url({ protocol: /^https$/, error: 'must be an https:// URL' })
  .refine((url) => !url.includes('#'), { message: 'must not contain a fragment' });

/** Callback of a native app or CLI: https, a loopback http port (RFC 8252) or a private-use scheme. */
const publicCallbackUrl = z
  .string()
  .refine(
    (url) =>
      /^https:\/\/[^\s#]+$/.test(url) ||
      /^http:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?(\/[^\s#]*)?$/.test(url) ||
      /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:\/[^\s#]*$/.test(url),
    {
      message:
        'must be https://, http://127.0.0.1 or http://localhost (loopback), or a reverse-DNS app scheme such as com.example.app:/callback',
    },
  );

const domain = z
  .string()
  .regex(
    /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'must be a lower-case domain',
  );

const providerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$/, 'must be 3-32 letters, digits, _ or -')
  .refine((name) => !/^(cognito|google|facebook|loginwithamazon|signinwithapple)$/i.test(name), {
    message: 'is reserved by Cognito',
  });

/** IdP attribute names mapped onto standard user-pool attributes. */
const attributeMapping = z
  .object({
    email: z.string().min(1).default('email'),
    givenName: z.string().min(1).optional(),
    familyName: z.string().min(1).optional(),
  })
  .strict();

const samlProvider = z
  .object({
    type: z.literal('saml'),
    /** Name shown in managed login and used in `identity_provider=`. */
    name: providerName,
    /** HTTPS URL of the IdP's SAML metadata document. */
    metadataUrl: httpsUrl,
    /** SAML attribute that carries the user's email. */
    attributeMapping: attributeMapping.default({ email: 'email' }),
    /** SAML attribute with the user's IdP groups, mapped to `custom:idp_groups`. */
    groupsAttribute: z.string().min(1).optional(),
  })
  .strict();

const oidcProvider = z
  .object({
    type: z.literal('oidc'),
    name: providerName,
    /** Issuer URL; Cognito discovers the endpoints from `<issuer>/.well-known/openid-configuration`. */
    issuerUrl: httpsUrl,
    clientId: z.string().min(1).max(255),
    /** Secrets Manager secret (name or ARN) holding the client secret; resolved by CloudFormation, never in the template. */
    clientSecretName: z.string().min(1).max(2048),
    attributeMapping: attributeMapping.default({ email: 'email' }),
    /** Claim with the user's IdP groups, mapped to `custom:idp_groups`. */
    groupsClaim: z.string().min(1).optional(),
  })
  .strict();

/** A machine client (OAuth client credentials) for one integration. */
const integration = z
  .object({
    /** Short name; the client is named `<env>-<name>`. */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/, 'must be lower-case letters, digits and dashes'),
    /** Scopes of the `omnichat` resource server the client may request, e.g. `chat.write`. */
    scopes: z
      .array(
        z.string().refine((scope) => OMNICHAT_SCOPE_NAMES.includes(scope), {
          message: `must be one of ${OMNICHAT_SCOPE_NAMES.join(', ')}`,
        }),
      )
      .min(1),
  })
  .strict()
  .superRefine((i, ctx) => {
    if (new Set(i.scopes).size !== i.scopes.length) {
      ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'must not repeat a scope' });
    }
  });

/** The `identity` section of an environment. */
export const identityConfigSchema = z
  .object({
    /** Prefix of the managed-login domain `<prefix>.auth.<region>.amazoncognito.com`. */
    domainPrefix: z
      .string()
      .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be 1-63 lower-case letters, digits and dashes')
      .refine((prefix) => !/aws|amazon|cognito/.test(prefix), {
        message: 'must not contain aws, amazon or cognito (Cognito rejects them)',
      }),
    /** Host the load balancer answers on (its DNS name or a custom domain); ALB callback is `https://<host>/oauth2/idpresponse`. */
    callbackHost: hostname,
    /** Where the browser lands after sign-out. */
    logoutUrls: z.array(httpsUrl).min(1),
    /** Redirect URIs of the public (PKCE) client for CLIs and native apps. */
    publicClientCallbackUrls: z.array(publicCallbackUrl).min(1),
    /** Lifetime of refresh tokens (rotated on use). */
    refreshTokenValidityDays: z.number().int().min(1).max(3650),
    selfSignUp: z
      .object({
        /** Let people register themselves (then only the allow-lists below may). */
        enabled: z.boolean().default(false),
        allowedDomains: z.array(domain).default([]),
        allowedUsers: z.array(z.email('must be an email address')).default([]),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (s.enabled && s.allowedDomains.length === 0 && s.allowedUsers.length === 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['enabled'],
            message: 'needs allowedDomains or allowedUsers: open sign-up is not offered',
          });
        }
      })
      .default({ enabled: false, allowedDomains: [], allowedUsers: [] }),
    /**
     * Threat protection (Plus plan): ENFORCED blocks risky sign-ins and compromised
     * credentials; AUDIT only scores and logs them.
     */
    threatProtection: z.enum(['AUDIT', 'ENFORCED']),
    /**
     * Send the pool's email (verification codes, invitations) through Amazon SES from a
     * verified identity in this account and region. Without it Cognito's default email is used,
     * which "allows only a limited number of emails each day" - too few for self sign-up or
     * a real user base (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html,
     * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cognito-userpool-emailconfiguration.html).
     * The identity must be verified and out of the SES sandbox before deployment (docs/first-deploy.md).
     * @default - Cognito's default email
     */
    email: z
      .object({
        /** Sender address; its domain (or the address itself) is the verified SES identity. */
        fromAddress: z.email('must be an email address'),
        /** Display name of the sender. */
        fromName: z.string().min(1).max(64).optional(),
        /** Reply-To address. */
        replyTo: z.email('must be an email address').optional(),
        /** The verified SES domain identity that covers fromAddress; absent: the address itself is verified. */
        sesVerifiedDomain: z
          .string()
          .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'must be a lower-case domain such as example.com')
          .optional(),
        /** SES configuration set for event publishing (bounces, complaints). */
        configurationSet: z
          .string()
          .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be an SES configuration set name')
          .optional(),
      })
      .strict()
      .superRefine((e, ctx) => {
        if (e.sesVerifiedDomain && !e.fromAddress.endsWith(`@${e.sesVerifiedDomain}`)) {
          ctx.addIssue({
            code: 'custom',
            path: ['fromAddress'],
            message: `must be an address in the verified domain ${e.sesVerifiedDomain}`,
          });
        }
      })
      .optional(),
    integrations: z.array(integration).default([]),
    identityProviders: z.array(z.discriminatedUnion('type', [samlProvider, oidcProvider])).default([]),
  })
  .strict()
  .superRefine((identity, ctx) => {
    const names = identity.integrations.map((i) => i.name);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', path: ['integrations'], message: 'integration names must be unique' });
    }
    const providers = identity.identityProviders.map((p) => p.name.toLowerCase());
    if (new Set(providers).size !== providers.length) {
      ctx.addIssue({ code: 'custom', path: ['identityProviders'], message: 'provider names must be unique' });
    }
  });

/** A parsed identity section. */
export type IdentityConfig = z.infer<typeof identityConfigSchema>;
