import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AwsJsonClient, setDefaultCredentialsProvider, SSM } from "../../lib/aws/client";
import { sdkCredentialChain } from "../../lib/aws/sdk-credentials";
import { startAwsStandin, type AwsStandin } from "../helpers/aws-standin";

let standin: AwsStandin;

beforeEach(async () => {
  standin = await startAwsStandin({ credentials: { accessKeyId: "ASIACHAIN00000000001", secretAccessKey: "chain-secret-for-tests", sessionToken: "chain-session" } });
  standin.handle("AmazonSSM.GetParameter", () => ({ Parameter: { Value: "ok" } }));
});

afterEach(async () => {
  setDefaultCredentialsProvider(undefined);
  vi.unstubAllEnvs();
  await standin.close();
});

describe("sdkCredentialChain", () => {
  it("resolves credentials through the AWS SDK's chain, here from the environment", async () => {
    for (const [name, value] of Object.entries(standin.env())) vi.stubEnv(name, value);

    await expect(sdkCredentialChain()()).resolves.toEqual({ accessKeyId: "ASIACHAIN00000000001", secretAccessKey: "chain-secret-for-tests", sessionToken: "chain-session" });
  });

  it("names the settings to make when no credentials are found", async () => {
    const emptyHome = mkdtempSync(join(tmpdir(), "secmaster-bridge-no-aws-"));
    try {
      for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]) {
        vi.stubEnv(name, undefined);
      }
      vi.stubEnv("AWS_CONFIG_FILE", join(emptyHome, "config"));
      vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", join(emptyHome, "credentials"));
      // The chain would try the instance metadata service last; the test suite turns it off.
      vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");

      const failure = await Promise.resolve(sdkCredentialChain()()).catch((error: unknown) => error);

      expect(failure).toMatchObject({ code: "CredentialsProviderError", retryable: false });
      expect((failure as Error).message).toMatch(
        /^no AWS credentials found: set AWS_PROFILE \(and run `aws sso login` for an SSO profile\), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \(the AWS SDK reported: .+\)$/,
      );
    } finally {
      rmSync(emptyHome, { recursive: true, force: true });
    }
  });

  it("signs for every client made without credentials once set as the process default", async () => {
    const chainEnv = standin.env();
    const provider = vi.fn(() => ({ accessKeyId: chainEnv.AWS_ACCESS_KEY_ID!, secretAccessKey: chainEnv.AWS_SECRET_ACCESS_KEY!, sessionToken: chainEnv.AWS_SESSION_TOKEN }));
    // The client's own environment has no credentials: only the process default can sign.
    const client = new AwsJsonClient({ service: SSM, env: { AWS_REGION: standin.region, AWS_ENDPOINT_URL: standin.url } });
    setDefaultCredentialsProvider(provider);

    await client.call("GetParameter", { Name: "/x" });

    expect(provider).toHaveBeenCalledTimes(1);
    expect(standin.calls.map((call) => call.sessionToken)).toEqual(["chain-session"]);
  });
});
