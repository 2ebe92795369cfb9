import { BadRequestError } from "../errors/bad-request-error.ts";
import {
  ACL_POLICIES,
  ACL_RULE_TYPES,
  type AclPolicy,
  type AclRules,
  type AclRuleType,
  aclRulesOf,
} from "./acl-rules.ts";
import type { HclParser } from "./hcl-parser.ts";

/** "key, service, event, node, session or agent", for the unknown-type message. */
const RULE_TYPES_TEXT = `${ACL_RULE_TYPES.slice(0, -1).join(", ")} or ${ACL_RULE_TYPES.at(-1)}`;

/** Longest rules text accepted: real rule sets are a few lines, and the parser is slow on megabytes. */
export const MAX_RULES_LENGTH = 64 * 1024;

/** A token without rules: the default policy decides everything. */
export const EMPTY_ACL_RULES: AclRules = aclRulesOf({});

/**
 * Compiles legacy Consul ACL rules, in HCL or JSON:
 *   key "foo/" { policy = "write" }      {"key": {"foo/": {"policy": "write"}}}
 *   session "" { policy = "read" }       {"session": {"": {"policy": "read"}}}
 * Throws BadRequestError naming the line of a syntax error, or the unknown rule type, attribute or
 * policy (the legacy kinds Berth has no endpoints for — operator, query, keyring — are unknown types).
 */
export async function parseAclRules(text: string, parser: HclParser): Promise<AclRules> {
  if (text.length > MAX_RULES_LENGTH) throw failure(`the rules are longer than ${MAX_RULES_LENGTH} characters`);
  if (text.trim() === "") return EMPTY_ACL_RULES;
  const parsed = await parser.parse(text);
  if (!parsed.ok) {
    throw failure(parsed.line > 0 ? `line ${parsed.line}, column ${parsed.column}: ${parsed.message}` : parsed.message);
  }
  // HCL reads JSON too but forgives some malformed JSON (a missing closing brace), which JSON rules must not be.
  if (text.trimStart().startsWith("{")) assertStrictJson(text);
  return compile(parsed.value);
}

function compile(document: unknown): AclRules {
  const rules: Partial<Record<AclRuleType, [string, AclPolicy][]>> = {};
  for (const [type, blocks] of Object.entries(asObject(document) ?? {})) {
    if (!isRuleType(type)) {
      throw failure(`unknown rule type ${JSON.stringify(type)}: rules may be ${RULE_TYPES_TEXT}`);
    }
    const pairs = rules[type] ?? [];
    rules[type] = pairs;
    // The parser gives repeated blocks as a list; JSON may give one object.
    for (const block of [blocks].flat()) {
      const byPrefix = asObject(block);
      if (!byPrefix) throw shapeFailure(type);
      for (const [prefix, bodies] of Object.entries(byPrefix)) {
        for (const body of [bodies].flat()) pairs.push([prefix, policyOf(body, type, prefix)]);
      }
    }
  }
  return aclRulesOf(rules);
}

function policyOf(body: unknown, type: AclRuleType, prefix: string): AclPolicy {
  const attributes = asObject(body);
  if (!attributes) throw shapeFailure(type);
  const rule = `${type} ${JSON.stringify(prefix)}`;
  for (const name of Object.keys(attributes)) {
    if (name !== "policy") throw failure(`${rule}: unknown attribute ${JSON.stringify(name)}`);
  }
  const policy = attributes.policy;
  if (policy === undefined) throw failure(`${rule} has no policy`);
  if (!ACL_POLICIES.includes(policy as AclPolicy)) {
    throw failure(`${rule}: invalid policy ${JSON.stringify(policy)}, must be read, write or deny`);
  }
  return policy as AclPolicy;
}

function assertStrictJson(text: string): void {
  try {
    JSON.parse(text);
  } catch (error) {
    throw failure(`invalid JSON: ${(error as Error).message}`);
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function isRuleType(type: string): type is AclRuleType {
  return (ACL_RULE_TYPES as readonly string[]).includes(type);
}

function shapeFailure(type: AclRuleType): BadRequestError {
  return failure(`${type} rules must be blocks like ${type} "prefix" { policy = "read" }`);
}

/** Consul's wording, so the message reads as clients know it. */
function failure(reason: string): BadRequestError {
  return new BadRequestError(`ACL rule compilation failed: ${reason}`);
}
