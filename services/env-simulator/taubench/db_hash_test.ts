import assert from "node:assert/strict";
import { parsePyJson, PyDict } from "@parlmt/pycompat";
import { pristineTables } from "./data.ts";
import { TauDb } from "./db.ts";
import { dbHash, hashableRepr } from "./db_hash.ts";

Deno.test("dbHash() of the pristine databases equals the reference's initial hashes", () => {
  assert.equal(
    dbHash(new TauDb(pristineTables("retail"))),
    "5a4b2cb59f4d12dea7e4adff24a7f8fada510ead49372ea4a729a82bbb5f49b5",
  );
  assert.equal(
    dbHash(new TauDb(pristineTables("airline"))),
    "4587e6b48ad2b2c4f3e1fecb40aabec7bb2286513273b8f8cec3f5865222f290",
  );
});

Deno.test("hashableRepr() prints Python's str() of to_hashable()", () => {
  const v = parsePyJson('{"b": [1], "a": {"x": 247.0, "y": [true, null, "it\'s"]}, "c": []}');
  assert.equal(
    hashableRepr(v),
    `(('a', (('x', 247.0), ('y', (True, None, "it's")))), ('b', (1,)), ('c', ()))`,
  );
  assert.equal(
    hashableRepr(parsePyJson("[1e16, 1e-05, 0.1, 5e-324]")),
    "(1e+16, 1e-05, 0.1, 5e-324)",
  );
  assert.equal(hashableRepr(new PyDict([["k", 1n]])), "(('k', 1),)");
});

Deno.test("TauDb.writable() copies on write and leaves the pristine data untouched", () => {
  const pristine = pristineTables("retail");
  const db = new TauDb(pristine);
  const before = dbHash(db);
  const user = db.writable("users", "noah_brown_6181");
  user.set("email", "changed@example.com");
  assert.notEqual(dbHash(db), before);
  assert.equal(dbHash(new TauDb(pristine)), before);
  assert.notEqual(
    (pristine.get("users")!.get("noah_brown_6181") as PyDict).get("email"),
    "changed@example.com",
  );
});
