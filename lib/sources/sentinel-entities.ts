import * as z from "zod";
import type { Alert, AlertNetwork, AlertResource } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { countOf, hashFields, networkEntry, text } from "./common";
import { lazily } from "../lazy";

// Microsoft Sentinel entities of an incident (`relatedEntities[]`). Each entity has a `kind` and
// kind-specific properties. The kinds below feed SecMaster fields, and the others are ignored.

/** One related entity of a Sentinel incident, with the properties the bridge maps. */
export const sentinelEntitySchema = lazily(() => {
  const optionalText = z.string().nullable().optional();

  return z.object({
    id: z.string().optional(),
    name: z.string().optional(),
    kind: z.string(),
    properties: z
      .object({
        accountName: optionalText,
        upnSuffix: optionalText,
        ntDomain: optionalText,
        aadUserId: optionalText,
        sid: optionalText,
        displayName: optionalText,
        hostName: optionalText,
        dnsDomain: optionalText,
        azureID: optionalText,
        osFamily: optionalText,
        address: optionalText,
        location: z
          .object({
            countryCode: optionalText,
            latitude: z.number().nullable().optional(),
            longitude: z.number().nullable().optional(),
          })
          .nullable()
          .optional(),
        url: optionalText,
        domainName: optionalText,
        algorithm: optionalText,
        hashValue: optionalText,
        directory: optionalText,
        fileName: optionalText,
        processId: z.union([z.string(), z.number()]).nullable().optional(),
        commandLine: optionalText,
        creationTimeUtc: optionalText,
        malwareName: optionalText,
        category: optionalText,
        resourceId: optionalText,
      })
      .optional(),
  });
});

export type SentinelEntity = z.infer<ReturnType<typeof sentinelEntitySchema>>;
type EntityProperties = NonNullable<SentinelEntity["properties"]>;

type EntityFields = Pick<Alert, "network_list" | "resource_list" | "user_info" | "file_info" | "process" | "malware">;

/**
 * Maps incident entities onto Alert fields: Account to `user_info`, Host and AzureResource to
 * `resource_list`, Ip, Url and DnsResolution to `network_list`, File and FileHash to
 * `file_info`, Process to `process`, and the first Malware entity to `malware`.
 *
 * Sentinel does not say which end of a connection an Ip entity was, so its address goes to
 * `src_ip`. Most incidents name the remote party this way.
 *
 * @param field JSON path of the entity array, for time errors.
 */
export function entitiesToAlertFields(entities: readonly SentinelEntity[], field: string): EntityFields {
  const fields: Required<Omit<EntityFields, "malware">> & Pick<EntityFields, "malware"> = {
    network_list: [],
    resource_list: [],
    user_info: [],
    file_info: [],
    process: [],
  };

  entities.forEach((entity, index) => {
    const properties = entity.properties ?? {};
    switch (entity.kind) {
      case "Account":
        fields.user_info.push({ user_id: text(properties.aadUserId) ?? text(properties.sid), user_name: accountName(properties) });
        break;
      case "Host":
        fields.resource_list.push(hostResource(properties));
        break;
      case "AzureResource":
        fields.resource_list.push(azureResource(properties));
        break;
      case "Ip":
        pushNetwork(fields.network_list, networkEntry({ source: { address: text(properties.address) }, sourceGeo: geoOf(properties) }));
        break;
      case "Url":
        pushNetwork(fields.network_list, networkEntry({ destination: { address: hostOfUrl(properties.url) } }));
        break;
      case "DnsResolution":
        pushNetwork(fields.network_list, networkEntry({ destination: { address: text(properties.domainName) } }));
        break;
      case "FileHash":
        fields.file_info.push({ file_hash: text(properties.hashValue), ...hashFields(properties.hashValue ?? undefined) });
        break;
      case "File":
        fields.file_info.push({ file_path: filePath(properties) });
        break;
      case "Process":
        fields.process.push({
          process_pid: countOf(properties.processId),
          process_cmdline: text(properties.commandLine),
          process_launche_time: normalizeTime(properties.creationTimeUtc, {
            field: `${field}[${index}].properties.creationTimeUtc`,
          }),
        });
        break;
      case "Malware":
        fields.malware ??= { malware_family: text(properties.malwareName), malware_class: text(properties.category) };
        break;
      default:
        break;
    }
  });

  return fields;
}

function accountName(properties: EntityProperties): string | undefined {
  const name = text(properties.accountName);
  if (name === undefined) return text(properties.displayName);
  const upnSuffix = text(properties.upnSuffix);
  if (upnSuffix !== undefined) return `${name}@${upnSuffix}`;
  const domain = text(properties.ntDomain);
  return domain === undefined ? name : `${domain}\\${name}`;
}

function hostResource(properties: EntityProperties): AlertResource {
  const hostName = text(properties.hostName);
  const dnsDomain = text(properties.dnsDomain);
  return {
    id: text(properties.azureID),
    name: hostName !== undefined && dnsDomain !== undefined ? `${hostName}.${dnsDomain}` : hostName,
    tags: { os_family: text(properties.osFamily) ?? "" },
  };
}

function azureResource(properties: EntityProperties): AlertResource {
  const resourceId = text(properties.resourceId);
  return { id: resourceId, name: resourceId?.split("/").pop(), provider: "azure" };
}

function geoOf(properties: EntityProperties): AlertNetwork["src_geo"] {
  const location = properties.location;
  if (location === undefined || location === null) return undefined;
  return {
    country_code: text(location.countryCode),
    latitude: location.latitude ?? undefined,
    longitude: location.longitude ?? undefined,
  };
}

function pushNetwork(list: AlertNetwork[], entry: AlertNetwork | undefined): void {
  if (entry !== undefined) list.push(entry);
}

function hostOfUrl(url: string | null | undefined): string | undefined {
  const value = text(url);
  if (value === undefined) return undefined;
  try {
    return text(new URL(value).hostname);
  } catch {
    return undefined;
  }
}

function filePath(properties: EntityProperties): string | undefined {
  const name = text(properties.fileName);
  const directory = text(properties.directory);
  if (directory === undefined || name === undefined) return name ?? directory;
  const separator = directory.includes("/") ? "/" : "\\";
  return directory.endsWith(separator) ? `${directory}${name}` : `${directory}${separator}${name}`;
}
