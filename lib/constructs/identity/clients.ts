import { Duration } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { IdentityConfig } from '../../config/identity-config';

/** Properties of {@link AppClients}. */
export interface AppClientsProps {
  readonly envName: string;
  readonly userPool: cognito.UserPool;
  /** Resource-server scopes by name (`chat.read`, ...). */
  readonly scopes: ReadonlyMap<string, cognito.OAuthScope>;
  /** Load balancer host: the ALB client's callback is `https://<host>/oauth2/idpresponse`. */
  readonly callbackHost: string;
  readonly logoutUrls: readonly string[];
  readonly publicClientCallbackUrls: readonly string[];
  readonly refreshTokenValidity: Duration;
  readonly integrations: IdentityConfig['integrations'];
  /** External IdPs the user-facing clients offer besides the pool itself. @default none */
  readonly identityProviders?: readonly cognito.IUserPoolIdentityProvider[];
}

/** Access and id tokens live one hour everywhere; revocation and rotation cut sessions short. */
/** Access- and id-token validity of every app client; the verifier refuses longer-lived tokens. */
export const TOKEN_VALIDITY = Duration.hours(1);
/** Seconds a rotated refresh token still works, for a client whose response got lost. */
const ROTATION_GRACE = Duration.seconds(10);

/**
 * The app clients: the load balancer's confidential client (authorization code, secret,
 * which ALB authentication requires), a public client for CLIs and native apps
 * (authorization code with PKCE, no secret), and one machine client per integration
 * (client credentials, only the scopes config grants). Every client prevents
 * user-existence errors and has token revocation on; user clients rotate refresh tokens.
 * No client may write `custom:*` attributes, so a user cannot grant themself IdP groups.
 */
export class AppClients extends Construct {
  /** Client of the ALB `authenticate-cognito` action. */
  readonly albClient: cognito.UserPoolClient;
  /** PKCE client for CLIs and native apps. */
  readonly publicClient: cognito.UserPoolClient;
  /** Machine clients by integration name. */
  readonly machineClients: ReadonlyMap<string, cognito.UserPoolClient>;

  constructor(scope: Construct, id: string, props: AppClientsProps) {
    super(scope, id);
    const allScopes = [...props.scopes.values()];
    const scopeNamed = (name: string): cognito.OAuthScope => {
      const found = props.scopes.get(name);
      if (!found) throw new Error(`AppClients: unknown scope ${name}`);
      return found;
    };
    const providers = [
      cognito.UserPoolClientIdentityProvider.COGNITO,
      ...(props.identityProviders ?? []).map((p) =>
        cognito.UserPoolClientIdentityProvider.custom(p.providerName),
      ),
    ];
    const writeAttributes = new cognito.ClientAttributes().withStandardAttributes({
      email: true,
      givenName: true,
      familyName: true,
    });
    const userClient = {
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: TOKEN_VALIDITY,
      idTokenValidity: TOKEN_VALIDITY,
      refreshTokenValidity: props.refreshTokenValidity,
      refreshTokenRotationGracePeriod: ROTATION_GRACE,
      authSessionValidity: Duration.minutes(3),
      supportedIdentityProviders: providers,
      writeAttributes,
    } satisfies cognito.UserPoolClientOptions;
    const userScopes = [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, ...allScopes];

    this.albClient = props.userPool.addClient('AlbClient', {
      ...userClient,
      userPoolClientName: `omnichat-${props.envName}-alb`,
      generateSecret: true,
      // The ALB signs in through managed login only; SRP is the one direct flow left on.
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        callbackUrls: [`https://${props.callbackHost}/oauth2/idpresponse`],
        logoutUrls: [...props.logoutUrls],
        scopes: userScopes,
      },
    });
    this.publicClient = props.userPool.addClient('PublicClient', {
      ...userClient,
      userPoolClientName: `omnichat-${props.envName}-public`,
      generateSecret: false,
      // SRP, and choice-based sign-in (USER_AUTH) so native apps can offer passkeys; never plain passwords.
      authFlows: { userSrp: true, user: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        callbackUrls: [...props.publicClientCallbackUrls],
        logoutUrls: [...props.logoutUrls],
        scopes: userScopes,
      },
    });

    const machineClients = new Map<string, cognito.UserPoolClient>();
    for (const integration of props.integrations) {
      const client = props.userPool.addClient(`Machine-${integration.name}`, {
        userPoolClientName: `omnichat-${props.envName}-${integration.name}`,
        generateSecret: true,
        preventUserExistenceErrors: true,
        enableTokenRevocation: true,
        accessTokenValidity: TOKEN_VALIDITY,
        supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
        oAuth: {
          flows: { clientCredentials: true },
          scopes: integration.scopes.map(scopeNamed),
        },
      });
      // Client credentials issue no refresh token, so refresh is the one inert flow that
      // keeps Cognito from enabling its defaults (SRP, custom auth): no user can sign in here.
      (client.node.defaultChild as cognito.CfnUserPoolClient).explicitAuthFlows = [
        'ALLOW_REFRESH_TOKEN_AUTH',
      ];
      machineClients.set(integration.name, client);
    }
    this.machineClients = machineClients;
  }
}
