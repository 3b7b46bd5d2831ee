import { Buffer } from "node:buffer";
import { verify } from "node:crypto";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import type { CertificateFetcher, FetchFunction } from "./certificates";
import { headerValue, type HeaderMap } from "./headers";
import { allowedHttpsUrl } from "./hosts";
import { AuthenticationError } from "./rejections";
import type { SourceAuthSettings } from "./settings";

/** A message whose signature, certificate and topic were verified. */
export interface VerifiedMessage {
  type: string;
  topic: string;
  /** Confirmation link of a `SubscriptionConfirmation`, not yet checked against the confirm hosts. */
  subscribeUrl: string | undefined;
}

// Fields signed per message type, in the order they are written into the string to sign.
const SNS_SIGNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
  UnsubscribeConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
};
const SNS_HASHES: Readonly<Record<string, string>> = { "1": "sha1", "2": "sha256" };

const SMN_SIGNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Notification: ["message", "message_id", "subject", "timestamp", "topic_urn", "type"],
  SubscriptionConfirmation: ["message", "message_id", "subscribe_url", "timestamp", "topic_urn", "type"],
  UnsubscribeConfirmation: ["message", "message_id", "subscribe_url", "timestamp", "topic_urn", "type"],
};

const BASE64_SIGNATURE = /^[A-Za-z0-9+/]{40,2048}={0,2}$/;

/** Names of the fields and headers of one message format. */
interface MessageFormat {
  signedFields: Readonly<Record<string, readonly string[]>>;
  typeField: string;
  topicField: string;
  signatureField: string;
  certificateUrlField: string;
  subscribeUrlField: string;
  typeHeader: string;
  topicHeader: string;
  /** Hash of the signature, from the message and the certificate's own signature algorithm. */
  hashOf(message: Record<string, unknown>, certificateHash: string | undefined): string | undefined;
  /** True when the optional field is left out of the string to sign. */
  omitted(field: string, value: unknown): boolean;
}

const SNS_FORMAT: MessageFormat = {
  signedFields: SNS_SIGNED_FIELDS,
  typeField: "Type",
  topicField: "TopicArn",
  signatureField: "Signature",
  certificateUrlField: "SigningCertURL",
  subscribeUrlField: "SubscribeURL",
  typeHeader: "x-amz-sns-message-type",
  topicHeader: "x-amz-sns-topic-arn",
  // SignatureVersion 1 is SHA1withRSA and 2 is SHA256withRSA.
  hashOf: (message) => SNS_HASHES[String(message.SignatureVersion)],
  omitted: (field, value) => field === "Subject" && (value === undefined || value === null),
};

const SMN_FORMAT: MessageFormat = {
  signedFields: SMN_SIGNED_FIELDS,
  typeField: "type",
  topicField: "topic_urn",
  signatureField: "signature",
  certificateUrlField: "signing_cert_url",
  subscribeUrlField: "subscribe_url",
  typeHeader: "x-smn-message-type",
  topicHeader: "x-smn-topic-urn",
  // SMN signs with the algorithm of its certificate (SHA256withRSA for signature_version v1).
  hashOf: (message, certificateHash) => (/^v1$/i.test(String(message.signature_version)) ? certificateHash : undefined),
  omitted: (field, value) => field === "subject" && (value === undefined || value === null || value === ""),
};

/**
 * Verifies an Amazon SNS HTTP(S) message: SignatureVersion 1 or 2, a certificate from an
 * allowed HTTPS host, the signature over the `Key\nValue\n` lines of the signed fields, and a
 * topic on the allow-list.
 *
 * @throws AuthenticationError 401 for anything unsigned or forged, 403 for a foreign topic.
 */
export function verifySnsMessage(body: unknown, headers: HeaderMap, settings: SourceAuthSettings, certificates: CertificateFetcher): Promise<VerifiedMessage> {
  return verifyMessage(SNS_FORMAT, body, headers, settings, certificates);
}

/**
 * Verifies a Huawei Cloud SMN HTTP(S) message: signature_version v1, a certificate from an
 * allowed HTTPS host, the signature over the sorted `key\nvalue\n` lines (subject only when not
 * empty), and a topic URN on the allow-list.
 *
 * @throws AuthenticationError 401 for anything unsigned or forged, 403 for a foreign topic.
 */
export function verifySmnMessage(body: unknown, headers: HeaderMap, settings: SourceAuthSettings, certificates: CertificateFetcher): Promise<VerifiedMessage> {
  return verifyMessage(SMN_FORMAT, body, headers, settings, certificates);
}

async function verifyMessage(
  format: MessageFormat,
  body: unknown,
  headers: HeaderMap,
  settings: SourceAuthSettings,
  certificates: CertificateFetcher,
): Promise<VerifiedMessage> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new AuthenticationError("message-invalid");
  const message = body as Record<string, unknown>;
  const type = message[format.typeField];
  const fields = typeof type === "string" && Object.hasOwn(format.signedFields, type) ? format.signedFields[type]! : undefined;
  if (fields === undefined) throw new AuthenticationError(type === undefined ? "message-invalid" : "message-type-unsupported");

  for (const field of fields) {
    const value = message[field];
    if (typeof value !== "string" && !format.omitted(field, value)) throw new AuthenticationError("message-invalid");
  }
  const topic = message[format.topicField] as string;
  const headerType = headerValue(headers, format.typeHeader);
  const headerTopic = headerValue(headers, format.topicHeader);
  if ((headerType !== undefined && headerType !== type) || (headerTopic !== undefined && headerTopic !== topic)) {
    throw new AuthenticationError("message-invalid");
  }

  const signature = message[format.signatureField];
  if (typeof signature !== "string" || !BASE64_SIGNATURE.test(signature)) throw new AuthenticationError("signature-malformed");
  const certificateUrl = message[format.certificateUrlField];
  if (typeof certificateUrl !== "string") throw new AuthenticationError("message-invalid");
  const certificate = await certificates.get(certificateUrl, settings.certificateHosts);
  if (!certificate.ok) throw new AuthenticationError(certificate.reason);

  const hash = format.hashOf(message, certificate.value.signatureHash);
  if (hash === undefined) throw new AuthenticationError("signature-version-unsupported");
  const signed = stringToSign(fields, message, format);
  let valid: boolean;
  try {
    valid = verify(hash, Buffer.from(signed, "utf8"), certificate.value.certificate.publicKey, Buffer.from(signature, "base64"));
  } catch {
    valid = false;
  }
  if (!valid) throw new AuthenticationError("signature-mismatch");

  if (!settings.topics.includes(topic)) throw new AuthenticationError("topic-not-allowed", 403);
  const subscribeUrl = type === "SubscriptionConfirmation" ? (message[format.subscribeUrlField] as string) : undefined;
  return { type: type as string, topic, subscribeUrl };
}

function stringToSign(fields: readonly string[], message: Record<string, unknown>, format: MessageFormat): string {
  let text = "";
  for (const field of fields) {
    if (format.omitted(field, message[field])) continue;
    text += `${field}\n${String(message[field])}\n`;
  }
  return text;
}

/**
 * Confirms a verified subscription by requesting its confirmation link, when the source has
 * `AUTO_CONFIRM=true` and the link is HTTPS on an allowed confirm host. A link on any other host
 * is logged and not requested.
 *
 * @throws BridgeError `BRIDGE.SUBSCRIPTION_CONFIRM_FAILED` (502) when the request fails, so the
 *   sender delivers the confirmation again.
 */
export async function confirmSubscription(
  message: VerifiedMessage,
  settings: SourceAuthSettings,
  fetch: FetchFunction,
  timeoutMs = 5_000,
): Promise<"confirmed" | "not-requested"> {
  if (message.subscribeUrl === undefined) return "not-requested";
  if (!settings.autoConfirm) {
    logger.warn("subscription confirmation received; confirm it in the console or set AUTO_CONFIRM", { topic: message.topic });
    return "not-requested";
  }
  const url = allowedHttpsUrl(message.subscribeUrl, settings.confirmHosts);
  if (url === undefined) {
    logger.warn("subscription confirmation link is not on an allowed confirm host, so it was not requested", {
      topic: message.topic,
      allowedHosts: settings.confirmHosts.map((pattern) => pattern.text),
    });
    return "not-requested";
  }
  let status: number;
  try {
    status = (await fetch(url.href, { method: "GET", redirect: "error", signal: AbortSignal.timeout(timeoutMs) })).status;
  } catch (error) {
    status = 0;
    logger.error("subscription confirmation request failed", { topic: message.topic, host: url.host, error: error as Error });
  }
  if (status < 200 || status >= 300) {
    throw new BridgeError("BRIDGE.SUBSCRIPTION_CONFIRM_FAILED", `failed to confirm the subscription to ${message.topic}: ${url.host} returned ${status}`, {
      statusCode: 502,
    });
  }
  logger.info("subscription confirmed", { topic: message.topic, host: url.host });
  return "confirmed";
}
