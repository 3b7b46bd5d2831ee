/**
 * A part of the ingest bundle on its own, for figure 5: the packages every function must carry
 * before any code of the bridge. These are zod's classic API, imported as `import * as z from "zod"`
 * with one schema, and the Powertools Logger and Metrics under a Middy handler.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import * as z from "zod";

const logger = new Logger({ serviceName: "bench" });
const metrics = new Metrics({ namespace: "bench", serviceName: "bench" });
const bodySchema = z.object({ alerts: z.array(z.unknown()) });

export const handler = middy((event: { body: string }) => {
  const body = bodySchema.parse(JSON.parse(event.body));
  logger.info("parsed", { alerts: body.alerts.length });
  metrics.addMetric("alerts", "Count", body.alerts.length);
  return Promise.resolve({ statusCode: 200, body: "" });
});
