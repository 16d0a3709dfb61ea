import { SecretValue } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { IdentityConfig } from '../../config/identity-config';
import { IDP_GROUPS_ATTRIBUTE } from './user-pool';

/** Properties of {@link Federation}. */
export interface FederationProps {
  readonly userPool: cognito.IUserPool;
  /** External identity providers from config. */
  readonly providers: IdentityConfig['identityProviders'];
}

/**
 * Optional external identity providers (SAML by metadata URL, OIDC by issuer). Each maps
 * the email (and names) onto the pool's attributes and, when configured, the IdP's group
 * claim onto `custom:idp_groups`; an OIDC client secret comes from Secrets Manager as a
 * dynamic reference, so it never appears in the template.
 */
export class Federation extends Construct {
  /** Providers in config order; clients list them as supported. */
  readonly providers: cognito.IUserPoolIdentityProvider[];

  constructor(scope: Construct, id: string, props: FederationProps) {
    super(scope, id);
    this.providers = props.providers.map((provider) => {
      const groups = provider.type === 'saml' ? provider.groupsAttribute : provider.groupsClaim;
      const attributeMapping: cognito.AttributeMapping = {
        email: cognito.ProviderAttribute.other(provider.attributeMapping.email),
        ...(provider.attributeMapping.givenName === undefined
          ? {}
          : { givenName: cognito.ProviderAttribute.other(provider.attributeMapping.givenName) }),
        ...(provider.attributeMapping.familyName === undefined
          ? {}
          : { familyName: cognito.ProviderAttribute.other(provider.attributeMapping.familyName) }),
        ...(groups === undefined
          ? {}
          : { custom: { [`custom:${IDP_GROUPS_ATTRIBUTE}`]: cognito.ProviderAttribute.other(groups) } }),
      };
      if (provider.type === 'saml') {
        return new cognito.UserPoolIdentityProviderSaml(this, `Saml-${provider.name}`, {
          userPool: props.userPool,
          name: provider.name,
          metadata: cognito.UserPoolIdentityProviderSamlMetadata.url(provider.metadataUrl),
          attributeMapping,
          idpSignout: true,
          requestSigningAlgorithm: cognito.SigningAlgorithm.RSA_SHA256,
        });
      }
      return new cognito.UserPoolIdentityProviderOidc(this, `Oidc-${provider.name}`, {
        userPool: props.userPool,
        name: provider.name,
        issuerUrl: provider.issuerUrl,
        clientId: provider.clientId,
        // A `{{resolve:secretsmanager:...}}` reference that CloudFormation resolves at deploy time.
        clientSecret: SecretValue.secretsManager(provider.clientSecretName).unsafeUnwrap(),
        scopes: ['openid', 'email', 'profile'],
        attributeRequestMethod: cognito.OidcAttributeRequestMethod.GET,
        attributeMapping,
      });
    });
  }
}
