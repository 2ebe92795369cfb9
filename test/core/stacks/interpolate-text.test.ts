import assert from "node:assert/strict";
import { test } from "node:test";
import { interpolateText } from "../../../src/core/stacks/interpolate-text.ts";

const values: Record<string, string> = { TAG: "1.2", user: "admin" };
const lookup = (name: string): string | undefined => values[name];

test("braced and bare references are replaced, $$ is a literal dollar", () => {
  assert.deepEqual(interpolateText(`img:\${TAG} as $user costs $$5 or $$$user`, lookup), {
    text: "img:1.2 as admin costs $5 or $admin",
  });
  assert.deepEqual(interpolateText("no references, a lone $ stays", lookup), { text: "no references, a lone $ stays" });
});

test("undefined variables and bad references are named", () => {
  assert.deepEqual(interpolateText(`$MISSING and \${also-bad}`, lookup), {
    error: `undefined variable MISSING; "\${also-bad}" is not a variable reference (use $$ for a literal $)`,
  });
});
