import assert from "node:assert/strict";
import fc from "fast-check";
import { PyDict, pyJsonDumps, type PyValue } from "@parlmt/pycompat";
import { type Domain, pristineTables } from "./data.ts";
import { TauDb } from "./db.ts";
import { dbHash } from "./db_hash.ts";
import { TauEpisode } from "./episode.ts";
import { ScriptedUser } from "./scripted_user.ts";
import { domainTools } from "./tools.ts";

const IDS = [
  "#W2378156",
  "#W0000000",
  "yusuf_rossi_9620",
  "mia_li_3668",
  "HAT136",
  "2024-05-20",
  "2024-05-1x",
  "429815",
  "HATHAT",
  "gift_card_7815826",
  "certificate_7504069",
  "credit_card_4421486",
  "1151293680",
  "economy",
  "business_plus",
  "pending",
  "",
];

function pyValue(): fc.Arbitrary<PyValue> {
  const leaf: fc.Arbitrary<PyValue> = fc.oneof(
    fc.constantFrom(...IDS),
    fc.string({ maxLength: 12 }),
    fc.bigInt({ min: -1000n, max: 1000n }),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.constant(null),
  );
  return fc.letrec<{ v: PyValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("v"), { maxLength: 4 }),
      fc.array(
        fc.tuple(fc.constantFrom("flight_number", "date", "payment_id", "amount", "x"), tie("v")),
        { maxLength: 4 },
      )
        .map((es) => new PyDict(es)) as fc.Arbitrary<PyValue>,
    ),
  })).v;
}

function hostileCall(domain: Domain) {
  const tools = [...domainTools(domain).values()];
  const names = fc.oneof(
    fc.constantFrom(...tools.map((t) => t.name)),
    fc.string({ maxLength: 10 }),
  );
  const params = tools.flatMap((t) => t.params);
  const kwargs = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(...params, "data"), fc.string({ maxLength: 6 })), pyValue()),
    { maxLength: 6 },
  ).map((es) => pyJsonDumps(new PyDict(es)));
  const raw = fc.oneof(
    kwargs,
    kwargs,
    fc.string({ maxLength: 30 }),
    fc.constantFrom("", "{", "[]", "null", '{"a":}', "NaN"),
  );
  return fc.tuple(names, raw);
}

for (const domain of ["retail", "airline"] as const) {
  Deno.test(`TauEpisode.step() survives hostile ${domain} tool calls with string observations`, async () => {
    const ep = await TauEpisode.create({ domain, taskIndex: 0 }, {
      user: new ScriptedUser(),
      maxSteps: 1000,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileCall(domain), { minLength: 1, maxLength: 5 }),
        async (calls) => {
          for (const [name, args] of calls) {
            if (ep.done) return;
            const r = await ep.step({ kind: "tool_call", name, arguments: args });
            assert.equal(typeof r.observation, "string");
          }
        },
      ),
      { numRuns: 150, seed: domain === "retail" ? 42 : 7 },
    );
    // Whatever the episode did, the shared pristine data is untouched.
    const fresh = dbHash(new TauDb(pristineTables(domain)));
    assert.equal(
      fresh,
      domain === "retail"
        ? "5a4b2cb59f4d12dea7e4adff24a7f8fada510ead49372ea4a729a82bbb5f49b5"
        : "4587e6b48ad2b2c4f3e1fecb40aabec7bb2286513273b8f8cec3f5865222f290",
    );
  });
}

Deno.test("airline tools give the reference's error texts for wrong types", async () => {
  const ep = await TauEpisode.create({ domain: "airline", taskIndex: 0 }, {
    user: new ScriptedUser(),
  });
  const obs = async (name: string, args: string) =>
    (await ep.step({ kind: "tool_call", name, arguments: args })).observation;
  const book = (over: string) =>
    `{"user_id": "mia_li_3668", "origin": "JFK", "destination": "SEA", "flight_type": "one_way", ` +
    `"cabin": "economy", "flights": [{"flight_number": "HAT136", "date": "2024-05-20"}], ` +
    `"passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}], ` +
    `"payment_methods": [{"payment_id": "credit_card_4421486", "amount": 152}], ` +
    `"total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"${over}}`;
  assert.equal(
    await obs("book_reservation", book("").replace('"economy"', '"first"')),
    "Error: 'first'",
  );
  assert.equal(
    await obs(
      "book_reservation",
      book("").replace('"nonfree_baggages": 0', '"nonfree_baggages": "1"'),
    ),
    "Error: unsupported operand type(s) for +=: 'int' and 'str'",
  );
  assert.equal(
    await obs("book_reservation", book("").replace('"amount": 152', '"amount": 1.0')),
    "Error: payment amount does not add up, total price is 152, but paid 1.0",
  );
  assert.equal(
    await obs("book_reservation", book("").replace('"flights": [{', '"flights": ["HAT136", {')),
    "Error: string indices must be integers, not 'str'",
  );
  assert.equal(
    await obs("send_certificate", '{"user_id": "mia_li_3668", "amount": 150.0}'),
    "Certificate certificate_3221322 added to user mia_li_3668 with amount 150.0.",
  );
  assert.equal(
    await obs("get_reservation_details", '{"reservation_id": "NOPE00"}'),
    "Error: user not found",
  );
  assert.equal(
    await obs("search_onestop_flight", '{"origin": "JFK", "destination": "SEA", "date": 5}'),
    "[]",
  );
  assert.equal(
    await obs("search_onestop_flight", '{"origin": "SFO", "destination": "JFK", "date": 5}'),
    "Error: 'int' object is not subscriptable",
  );
  assert.equal(
    await obs(
      "search_onestop_flight",
      '{"origin": "SFO", "destination": "JFK", "date": "2024-05-x"}',
    ),
    "Error: invalid literal for int() with base 10: '-x'",
  );
  assert.equal(
    await obs("update_reservation_passengers", '{"reservation_id": 429815, "passengers": []}'),
    "Error: reservation not found",
  );
});
