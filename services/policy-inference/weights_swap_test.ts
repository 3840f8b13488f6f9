import assert from "node:assert/strict";
import { testModel } from "./_test_model.ts";
import { CanaryError, canaryMeta, loadWeightsEngine } from "./weights_swap.ts";

const CANARY_IDS = [296, 108, 273, 116, 32, 102, 297];

function learnerCanary(m: ReturnType<typeof testModel>): Promise<Record<string, string>> {
  return canaryMeta(m.config, m.weights, CANARY_IDS);
}

Deno.test("loadWeightsEngine() accepts a version whose canary matches", async () => {
  const m = testModel(4);
  const { engine, canary } = await loadWeightsEngine(3n, m.blob(3), await learnerCanary(m));
  assert.equal(engine.version, 3n);
  assert.match(canary, /^ok/);
  await engine.dispose();
});

Deno.test("loadWeightsEngine() rolls back a version whose canary differs", async () => {
  const m = testModel(4);
  const other = testModel(5);
  await assert.rejects(
    loadWeightsEngine(3n, other.blob(3), await learnerCanary(m)),
    (err: unknown) => err instanceof CanaryError && /Canary of v3 failed/.test(err.message),
  );
});

Deno.test("loadWeightsEngine() rejects a corrupted blob with a clear error", async () => {
  const m = testModel(4);
  const blob = m.blob(3);
  const truncated = blob.subarray(0, blob.length - 100);
  await assert.rejects(loadWeightsEngine(3n, truncated, {}), /Cannot load weights v3/);
  await assert.rejects(loadWeightsEngine(3n, new Uint8Array(64), {}), /Cannot load weights v3/);
  await assert.rejects(
    loadWeightsEngine(3n, blob, {}, { requireCanary: true }),
    (err: unknown) => err instanceof CanaryError,
  );
});
