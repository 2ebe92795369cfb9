/**
 * What a Consul ACL token may do, resolved once per request by the Consul face's auth hook and
 * asked by every Consul route. Legacy ACL semantics: prefix rules for key, service, event, node,
 * session and agent names; the longest matching prefix wins; write implies read; deny beats
 * nothing but a longer rule; no matching rule falls back to the default policy (management tokens
 * may do everything).
 */
export interface Acl {
  /** A management token (or ACLs disabled): every check passes, ACL administration included. */
  readonly management: boolean;
  keyRead(key: string): boolean;
  keyWrite(key: string): boolean;
  /** Write on every key under the prefix (recursive delete, a tree lock): no read or deny rule may sit under it. */
  keyWritePrefix(prefix: string): boolean;
  serviceRead(name: string): boolean;
  serviceWrite(name: string): boolean;
  eventRead(name: string): boolean;
  eventWrite(name: string): boolean;
  /** A catalog node's record and its node-level checks, by node name. */
  nodeRead(name: string): boolean;
  nodeWrite(name: string): boolean;
  /** The sessions of a node, by the name of the node they belong to. */
  sessionRead(node: string): boolean;
  sessionWrite(node: string): boolean;
  /** An agent's own configuration and membership (self, join, force-leave), by its node name. */
  agentRead(node: string): boolean;
  agentWrite(node: string): boolean;
}
