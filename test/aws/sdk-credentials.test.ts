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
