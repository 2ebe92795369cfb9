import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MinHeap } from "../../../src/core/scheduler/min-heap.ts";

describe("MinHeap", () => {
  it("pops in the caller's order", () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const value of [5, 1, 4, 1, 9, 2, 6]) heap.push(value);
    assert.equal(heap.peek(), 1);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    assert.deepEqual(out, [1, 1, 2, 4, 5, 6, 9]);
    assert.equal(heap.pop(), undefined);
  });
});
