import type { CatalogNode, HealthCheck, Indexed, ServiceInstance } from "../../core/consul/catalog-record.ts";
import type { HealthEntry, ServiceEntry } from "../../core/consul/catalog-service.ts";

// The catalog's records in Consul's JSON shapes and field names: the spec's fields, plus the ones
// later Consul versions added that discovery clients read (Datacenter, TaggedAddresses, Meta, indexes).

const indexes = (record: Indexed<unknown>) => ({ CreateIndex: record.createIndex, ModifyIndex: record.modifyIndex });

export function nodeJson(node: Indexed<CatalogNode>, dc: string) {
  return {
    Node: node.name,
    Address: node.address,
    Datacenter: dc,
    TaggedAddresses: node.taggedAddresses,
    Meta: node.meta,
    ...indexes(node),
  };
}

/** A service instance as the agent lists it. */
export function agentServiceJson(service: ServiceInstance) {
  return {
    ID: service.id,
    Service: service.name,
    Tags: service.tags,
    Meta: service.meta,
    Port: service.port,
    Address: service.address,
    EnableTagOverride: service.enableTagOverride,
  };
}

/** A service instance inside a node's (catalog/node) or a health entry's record. */
export function nodeServiceJson(service: Indexed<ServiceInstance>) {
  return { ...agentServiceJson(service), ...indexes(service) };
}

/** An element of /v1/catalog/service/<name>: the instance flattened with its node. */
export function catalogServiceJson({ node, service }: ServiceEntry, dc: string) {
  return {
    Node: node.name,
    Address: node.address,
    Datacenter: dc,
    TaggedAddresses: node.taggedAddresses,
    NodeMeta: node.meta,
    ServiceID: service.id,
    ServiceName: service.name,
    ServiceTags: service.tags,
    ServiceAddress: service.address,
    ServiceMeta: service.meta,
    ServicePort: service.port,
    ServiceEnableTagOverride: service.enableTagOverride,
    ...indexes(service),
  };
}

export function checkJson(check: Indexed<HealthCheck>) {
  return {
    Node: check.node,
    CheckID: check.id,
    Name: check.name,
    Status: check.status,
    Notes: check.notes,
    Output: check.output,
    ServiceID: check.serviceId,
    ServiceName: check.serviceName,
    Type: check.definition?.kind ?? "",
    ...indexes(check),
  };
}

export function healthEntryJson(entry: HealthEntry, dc: string) {
  return {
    Node: nodeJson(entry.node, dc),
    Service: nodeServiceJson(entry.service),
    Checks: entry.checks.map(checkJson),
  };
}
