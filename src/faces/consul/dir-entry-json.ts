import type { KvEntry } from "../../core/consul/kv-entry.ts";

/**
 * A KV entry as Consul's DirEntry JSON, fields in Go's order, Session left out when empty. Built as
 * text so that Flags, a uint64, is written exactly even past 2^53.
 */
export function dirEntryJson(entry: KvEntry): string {
  const value = entry.value === null ? "null" : `"${entry.value}"`;
  const session = entry.session === "" ? "" : `,"Session":${JSON.stringify(entry.session)}`;
  return (
    `{"LockIndex":${entry.lockIndex},"Key":${JSON.stringify(entry.key)},"Flags":${entry.flags},` +
    `"Value":${value}${session},"CreateIndex":${entry.createIndex},"ModifyIndex":${entry.modifyIndex}}`
  );
}

export function dirEntriesJson(entries: readonly KvEntry[]): string {
  return `[${entries.map(dirEntryJson).join(",")}]`;
}
