// Expected values were produced once with CPython 3.11 (see the literals); no Python at run time.
import assert from "node:assert/strict";
import {
  floatRepr,
  formatFixed,
  parsePyJson,
  pyAdd,
  PyDict,
  pyEquals,
  PyError,
  pyJsonDumps,
  pyMod,
  pyPow,
  PyRandom,
  pyRepr,
  pyResultString,
  pyRound,
  PySet,
  pySplitlines,
  pySplitWhitespace,
  pyTrueDiv,
  strRepr,
} from "./mod.ts";

Deno.test("floatRepr() matches Python repr(float)", () => {
  const cases: [number, string][] = [
    [0.1, "0.1"],
    [1e16, "1e+16"],
    [1e-5, "1e-05"],
    [1.5e300, "1.5e+300"],
    [123456789012345.6, "123456789012345.6"],
    [1234567890123456.7, "1234567890123456.8"],
    [0.0001, "0.0001"],
    [100, "100.0"],
    [-2.5, "-2.5"],
    [5e-324, "5e-324"],
    [2 ** 53, "9007199254740992.0"],
    [1 / 3, "0.3333333333333333"],
    [-0, "-0.0"],
    [NaN, "nan"],
  ];
  for (const [x, want] of cases) assert.equal(floatRepr(x), want, String(x));
});

Deno.test("formatFixed() rounds the exact binary value half to even like %.2f", () => {
  const xs = [0.125, 0.375, 2.675, 1.005, -0.001, 1e10 / 3, 0.5, 1024, 9.995];
  const want = [
    "0.12",
    "0.38",
    "2.67",
    "1.00",
    "-0.00",
    "3333333333.33",
    "0.50",
    "1024.00",
    "9.99",
  ];
  assert.deepEqual(xs.map((x) => formatFixed(x, 2)), want);
});

Deno.test("pyRound() follows Python round()", () => {
  assert.deepEqual([2.675, 0.125, 1.005, 0.375].map((x) => pyRound(x, 2n)), [
    2.67,
    0.12,
    1.0,
    0.38,
  ]);
  assert.equal(pyRound(2.5), 2n);
  assert.equal(pyRound(3.5), 4n);
  assert.equal(pyRound(2.5, 0n), 2.0);
  assert.equal(pyRound(1234.5, -1n), 1230.0);
  assert.equal(pyRound(1250.0, -2n), 1200.0);
  assert.equal(pyRound(1350n, -2n), 1400n);
});

Deno.test("PyRandom reproduces CPython random.Random", () => {
  let r = new PyRandom(200191);
  assert.deepEqual(Array.from({ length: 5 }, () => r.randint(10000, 99999)), [
    67410n,
    41772n,
    24547n,
    24421n,
    60424n,
  ]);
  r = new PyRandom(0);
  assert.equal(r.random(), 0.8444218515250481);
  assert.equal(r.getrandbits(70), 496037447641349049516n);
  assert.equal(r.randrange(0, 100, 7), 0n);
  assert.equal(r.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 4);
  r = new PyRandom(2n ** 40n + 12345n);
  const x = Array.from({ length: 20 }, (_, i) => i);
  r.shuffle(x);
  assert.deepEqual(x, [6, 7, 8, 5, 14, 13, 18, 16, 15, 19, 1, 10, 12, 2, 17, 4, 0, 3, 11, 9]);
  const hundred = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(r.sample(hundred, 10), [10, 89, 95, 55, 57, 13, 68, 74, 83, 9]);
  assert.deepEqual(r.sample(hundred.slice(0, 10), 3), [5, 9, 2]);
  r = new PyRandom(-7);
  assert.equal(r.uniform(1, 2), 1.3238327648331625);
  assert.equal(r.randint(-5, 5), -3n);
});

Deno.test("PyRandom matches the BFCL spec vectors", () => {
  assert.equal(new PyRandom(141053).randint(100000, 999999), 251675n);
  let r = new PyRandom(141053);
  assert.equal(r.randint(100000000000, 999999999999), 262919693687n);
  assert.equal(r.randint(10000, 99999), 44620n);
  r = new PyRandom(141053);
  assert.equal(r.uniform(-10, 40), 36.63485703790535);
  assert.equal(r.uniform(0, 120), 99.11925428879405);
  r = new PyRandom(1053520);
  assert.deepEqual([0, 1, 2].map(() => r.randint(0, 86400)), [69015n, 6994n, 64788n]);
});

Deno.test("PyRandom.getState() round-trips", () => {
  const a = new PyRandom(5);
  a.random();
  const b = PyRandom.fromState(a.getState());
  assert.equal(a.random(), b.random());
});

Deno.test("pyJsonDumps() matches json.dumps with ensure_ascii", () => {
  const d = new PyDict([
    ["a", "é😀\n\x7f/"],
    ["b", [1n, 2.0, null, true]],
    ["c", NaN],
    [1n, 2n],
  ]);
  assert.equal(
    pyJsonDumps(d),
    '{"a": "\\u00e9\\ud83d\\ude00\\n\\u007f/", "b": [1, 2.0, null, true], "c": NaN, "1": 2}',
  );
  assert.throws(() => pyJsonDumps(new PyDict([["s", new PySet([1n])]])), TypeError);
  assert.equal(pyResultString(new PyDict([["s", new PySet()]])), "{'s': set()}");
  assert.equal(pyResultString(["a", 1n]), "['a', 1]");
  assert.equal(pyResultString(null), "None");
});

Deno.test("strRepr() matches Python repr(str)", () => {
  assert.equal(strRepr("it's"), `"it's"`);
  assert.equal(strRepr('a"b'), `'a"b'`);
  assert.equal(strRepr(`a'b"c`), `'a\\'b"c'`);
  assert.equal(strRepr("\x00\u2028é😀\ud800"), "'\\x00\\u2028é😀\\ud800'");
  assert.equal(pyRepr(new PyDict([["k", [1.5, null, false]]])), "{'k': [1.5, None, False]}");
});

Deno.test("parsePyJson() keeps int vs float and key order", () => {
  const v = parsePyJson('{"3426812": 1, "0": 2.0, "x": [1e5, -0, true, null, "\\u00e9"]}');
  assert.ok(v instanceof PyDict);
  assert.deepEqual([...v.keys()], ["3426812", "0", "x"]);
  assert.equal(v.get("3426812"), 1n);
  assert.equal(v.get("0"), 2.0);
  assert.deepEqual(v.get("x"), [100000, 0n, true, null, "é"]);
  assert.equal(
    pyJsonDumps(v),
    '{"3426812": 1, "0": 2.0, "x": [100000.0, 0, true, null, "\\u00e9"]}',
  );
  assert.throws(() => parsePyJson("[1,"), SyntaxError);
  assert.throws(() => parsePyJson("[".repeat(1000)), SyntaxError);
});

Deno.test("Python operators keep int vs float and raise Python errors", () => {
  assert.equal(pyAdd(2.5, 1n), 3.5);
  assert.equal(pyAdd(1n, 2n), 3n);
  assert.equal(pyTrueDiv(10n, 4n), 2.5);
  assert.equal(pyMod(-7n, 3n), 2n);
  assert.equal(pyMod(7.5, -2n), -0.5);
  assert.equal(pyRepr(pyPow(-8n, 1 / 3)), "(1.0000000000000002+1.7320508075688772j)");
  assert.equal(pyPow(2n, -1n), 0.5);
  assert.equal(pyPow(2n, 100n), 1267650600228229401496703205376n);
  assert.throws(
    () => pyAdd("a", 1n),
    (e: unknown) =>
      e instanceof PyError && e.message === 'can only concatenate str (not "int") to str',
  );
  assert.throws(() => pyPow(10n, 10n ** 9n), PyError);
});

Deno.test("pyEquals() uses Python equality", () => {
  assert.ok(pyEquals(1n, 1.0));
  assert.ok(pyEquals(true, 1n));
  assert.ok(!pyEquals("1", 1n));
  assert.ok(pyEquals(new PyDict([["a", 1n], ["b", 2n]]), new PyDict([["b", 2.0], ["a", 1n]])));
  assert.ok(!pyEquals([1n, 2n], [2n, 1n]));
  const d = new PyDict([[1n, "x"]]);
  assert.equal(d.get(1.0), "x");
  assert.equal(d.get(true), "x");
  assert.equal(d.get("1"), undefined);
});

Deno.test("pySplitlines() and pySplitWhitespace() follow Python", () => {
  assert.deepEqual(pySplitlines("a\r\nb\rc\x0bd\n"), ["a", "b", "c", "d"]);
  assert.deepEqual(pySplitlines(""), []);
  assert.deepEqual(pySplitlines("\n"), [""]);
  assert.deepEqual(pySplitWhitespace("  a\x1cb\u00a0c\ufeffd  "), ["a", "b", "c\ufeffd"]);
});
