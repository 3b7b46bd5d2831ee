/**
 * Posts one delivery, read from the file named by the first argument, through the queue-mode ingest
 * function in this process and prints its status, the jobs queued and the peak RSS as JSON. Figure 6
 * bundles this file like a Lambda function and runs it with plain `node`, under `/usr/bin/time -v`
 * when that exists.
 */
import { readFileSync } from "node:fs";
import { createQueueIngest } from "../queue-ingest-handler";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: node ingest-rss.mjs DELIVERY.json");
const body = readFileSync(path, "utf8");
const rssBeforeBytes = process.memoryUsage().rss;
const ingest = createQueueIngest();
const result = await ingest.invoke(body);
await ingest.close();
// resourceUsage().maxRSS is in kibibytes.
process.stdout.write(JSON.stringify({ ...result, bodyBytes: Buffer.byteLength(body), rssBeforeBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
