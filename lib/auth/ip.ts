import { BlockList, isIP } from "node:net";

/** A parsed source-IP allow-list. */
export interface IpAllowList {
  /** The CIDR blocks as configured, for logs and docs. */
  readonly cidrs: readonly string[];
  contains(address: string): boolean;
}

/**
 * Parses CIDR blocks (`203.0.113.0/24`, `2001:db8::/32`, or a bare address) into an allow-list.
 * Returns the invalid entries instead when any entry cannot be parsed.
 */
export function parseIpAllowList(cidrs: readonly string[]): IpAllowList | { invalid: string[] } {
  const list = new BlockList();
  const invalid: string[] = [];
  for (const entry of cidrs) {
    const [address = "", prefixText] = entry.split("/");
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
    if (family === 0 || !/^\d*$/.test(prefixText ?? "") || !Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) {
      invalid.push(entry);
      continue;
    }
    list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  if (invalid.length > 0) return { invalid };
  return {
    cidrs,
    contains: (address) => {
      const normalized = unmapIpv4(address);
      const family = isIP(normalized);
      if (family === 0) return false;
      return list.check(normalized, family === 4 ? "ipv4" : "ipv6");
    },
  };
}

// A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; compare them as IPv4.
function unmapIpv4(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match === null ? address : match[1]!;
}
