import { AwsServiceError, type AwsCredentials, type AwsCredentialsProvider } from "./client";

/**
 * Returns the AWS SDK's credential chain for commands run on a laptop: environment, shared config and
 * credentials files with profiles, SSO, web identity, and container or instance roles. The SDK
 * package is loaded on the first call, so a command that makes no AWS call does not load it. The
 * chain caches what it resolves and renews temporary credentials before they expire.
 */
export function sdkCredentialChain(): AwsCredentialsProvider {
  let chain: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    chain ??= import("@aws-sdk/credential-provider-node").then(
      ({ defaultProvider }) => defaultProvider(),
      (error: unknown) => {
        chain = undefined;
        throw error;
      },
    );
    let resolved: AwsCredentials;
    try {
      resolved = await (await chain)();
    } catch (error) {
      // The SDK names the chain's failure CredentialsProviderError; anything else, such as an
      // expired SSO token, keeps its own name and message.
      if (!(error instanceof Error) || error.name !== "CredentialsProviderError") {
        throw new AwsServiceError("CredentialsProviderError", `failed to load AWS credentials: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, {
          retryable: false,
          cause: error,
        });
      }
      throw new AwsServiceError(
        "CredentialsProviderError",
        "no AWS credentials found: set AWS_PROFILE (and run `aws sso login` for an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" +
          ` (the AWS SDK reported: ${error.message.slice(0, 200)})`,
        { retryable: false, cause: error },
      );
    }
    return { accessKeyId: resolved.accessKeyId, secretAccessKey: resolved.secretAccessKey, sessionToken: resolved.sessionToken };
  };
}
