import assert from "node:assert/strict";
import { pyJsonDumps } from "@parlmt/pycompat";
import {
  DEFAULT_GEN_OPTIONS,
  generateTask,
  SYNTH_CLASSES,
  validateGenOptions,
} from "./generate_tasks.ts";
import {
  ENTITY_POOLS,
  type EntityKind,
  isSplitKind,
  isTestValue,
  splitPool,
  wideValues,
} from "./entities.ts";
import { PHRASINGS, splitFamilies } from "./templates.ts";

const OPTS = {
  ...DEFAULT_GEN_OPTIONS,
  minTurns: 1,
  maxTurns: 8,
  missParamRate: 0.2,
  missFuncRate: 0.2,
};

function plain(t: ReturnType<typeof generateTask>): string {
  return JSON.stringify({ ...t, initialConfig: pyJsonDumps(t.initialConfig) });
}

Deno.test("generateTask() is deterministic per seed and differs across seeds", () => {
  assert.equal(plain(generateTask(3, 5, "train", OPTS)), plain(generateTask(3, 5, "train", OPTS)));
  assert.notEqual(
    plain(generateTask(3, 5, "train", OPTS)),
    plain(generateTask(4, 5, "train", OPTS)),
  );
});

Deno.test("generateTask() covers all eight classes; every ground truth executes and passes the checker", () => {
  assert.equal(SYNTH_CLASSES.length, 8);
  const seen = new Set<string>();
  for (let i = 0; i < 120; i++) {
    // generateTask replays its ground truth in an episode and throws on any failed call.
    const t = generateTask(11, i, i % 3 === 0 ? "test" : "train", {
      ...OPTS,
      longContextRate: 0.1,
    });
    for (const c of t.classes) seen.add(c);
    assert.ok(t.turns.length >= 1 && t.turns.length <= 8);
    for (const turn of t.turns) assert.ok(turn.calls.length <= OPTS.maxCallsPerTurn);
  }
  assert.deepEqual([...seen].sort(), [...SYNTH_CLASSES].sort());
});

Deno.test("grammar has at least five phrasings per intent; the knobs are validated by name", () => {
  for (const [id, ps] of Object.entries(PHRASINGS)) assert.ok(ps.length >= 5, id);
  assert.throws(() => validateGenOptions({ ...OPTS, maxTurns: 9 }), /"maxTurns"/);
  assert.throws(() => validateGenOptions({ ...OPTS, missParamRate: 2 }), /"missParamRate"/);
  assert.throws(() => validateGenOptions({ ...OPTS, classes: ["Nope"] }), /"classes"/);
});

Deno.test("no test-split template family or entity value leaks into training", () => {
  for (const kind of Object.keys(ENTITY_POOLS) as EntityKind[]) {
    if (!isSplitKind(kind)) continue;
    const train = new Set(splitPool(kind, "train"));
    for (const v of splitPool(kind, "test")) assert.ok(!train.has(v), `${kind} ${v}`);
  }
  const trainFamilies = new Set<string>();
  const testFamilies = new Set<string>();
  const trainEntities = new Set<string>();
  const testEntities = new Set<string>();
  const trainText: string[] = [];
  for (let i = 0; i < 150; i++) {
    const tr = generateTask(5, i, "train", OPTS);
    trainFamilies.add(tr.family);
    tr.entities.forEach((e) => trainEntities.add(e));
    for (const turn of tr.turns) trainText.push(...turn.user, ...turn.calls);
    if (i < 50) {
      const te = generateTask(5, i, "test", OPTS);
      testFamilies.add(te.family);
      te.entities.forEach((e) => testEntities.add(e));
    }
  }
  for (const f of testFamilies) assert.ok(!trainFamilies.has(f), `family ${f}`);
  assert.deepEqual([...testFamilies].sort(), splitFamilies("test").map((f) => `f${f}`));
  for (const e of testEntities) {
    assert.ok(!trainEntities.has(e), `entity ${e}`);
    // Words and names of the test split never occur in training text either.
    if (/^[A-Za-z_]{3,}$/.test(e)) {
      const re = new RegExp(`\\b${e}\\b`);
      assert.ok(!trainText.some((t) => re.test(t)), `entity ${e} in training text`);
    }
  }
  // The test phrasings (families f4, f5) are never used to render a training turn.
  const testPhrasings = Object.values(PHRASINGS).flatMap((ps) =>
    splitFamilies("test").map((f) => ps[f]!)
  );
  for (const p of testPhrasings) {
    const stem = p.split("{")[0]!.trim();
    if (stem.length < 12) continue;
    assert.ok(!trainText.some((t) => t.includes(stem)), `test phrasing "${stem}" in training`);
  }
});

Deno.test("heldout template: test tasks use held-out phrasings about training values", () => {
  const opts = { ...OPTS, heldout: "template" as const };
  const trainFamilies = new Set<string>();
  for (let i = 0; i < 100; i++) trainFamilies.add(generateTask(7, i, "train", opts).family);
  let values = 0;
  for (let i = 0; i < 60; i++) {
    const te = generateTask(7, i, "test", opts);
    assert.equal(te.split, "test");
    assert.ok(!trainFamilies.has(te.family), `family ${te.family}`);
    for (const e of te.entities) {
      values++;
      assert.ok(!isTestValue(e), `entity ${e} is a held-out value`);
    }
  }
  assert.ok(values > 60, `test tasks carry values (${values})`);
});

Deno.test("heldout entity: test tasks use training phrasings but never a training value", () => {
  const opts = { ...OPTS, heldout: "entity" as const };
  const trainEntities = new Set<string>();
  for (let i = 0; i < 100; i++) {
    generateTask(6, i, "train", opts).entities.forEach((e) => trainEntities.add(e));
  }
  const families = new Set<string>();
  let values = 0;
  for (let i = 0; i < 60; i++) {
    const te = generateTask(6, i, "test", opts);
    assert.equal(te.split, "test");
    families.add(te.family);
    for (const e of te.entities) {
      values++;
      assert.ok(!trainEntities.has(e), `entity ${e}`);
    }
  }
  assert.ok(values > 60, `test tasks carry held-out values (${values})`);
  assert.deepEqual(
    [...families].sort(),
    splitFamilies("train").map((f) => `f${f}`),
    "only training template families",
  );
  // The default holds out the templates too, and an unknown kind is refused by name.
  assert.ok(
    splitFamilies("test").includes(Number(generateTask(6, 0, "test", OPTS).family.slice(1))),
  );
  assert.throws(
    () => validateGenOptions({ ...OPTS, heldout: "nope" as "entity" }),
    /Invalid option "heldout".*"nope"/,
  );
});

Deno.test("entities wide: hundreds of made-up values per free kind, still split by value", () => {
  for (const kind of ["person", "word", "handle", "stem", "folder"] as EntityKind[]) {
    const train = splitPool(kind, "train", "wide");
    const test = splitPool(kind, "test", "wide");
    assert.ok(train.length > 300 && test.length > 100, `${kind}: ${train.length}/${test.length}`);
    const trainSet = new Set(train);
    for (const v of test) assert.ok(!trainSet.has(v), `${kind} ${v}`);
    // The base values stay in the pool; the made-up ones are the same on every call.
    for (const v of ENTITY_POOLS[kind]) assert.ok(wideValues(kind).includes(v), v);
    assert.deepEqual(wideValues(kind), wideValues(kind));
  }
  assert.equal(wideValues("currency"), ENTITY_POOLS.currency, "constrained kinds stay as they are");
  const opts = { ...OPTS, entities: "wide" as const };
  const trainValues = new Set<string>();
  for (let i = 0; i < 150; i++) {
    generateTask(8, i, "train", opts).entities.forEach((e) => trainValues.add(e));
  }
  assert.ok(trainValues.size > 150, `training tasks use many values (${trainValues.size})`);
  for (let i = 0; i < 40; i++) {
    for (const e of generateTask(8, i, "test", opts).entities) {
      assert.ok(!trainValues.has(e), `test value ${e} seen in training`);
    }
  }
  assert.throws(
    () => validateGenOptions({ ...OPTS, entities: "huge" as "wide" }),
    /Invalid option "entities".*"huge"/,
  );
});
