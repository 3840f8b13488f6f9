/**
 * BFCL `TravelAPI` (`travel_booking.py`, HEAD semantics, docs/bfcl-spec.md §5.7).
 * @module
 */
import {
  pyAdd,
  PyDict,
  pyEquals,
  PyError,
  pyFloat,
  pyLt,
  pyMul,
  PyRandom,
  pyRepr,
  pyRound,
  pySub,
  pyTrueDiv,
  type PyValue,
} from "@parlmt/pycompat";
import { dict, type MethodDef, params, scenarioGet, StatefulEnv } from "./bfcl_env.ts";
import { contains, dictGet, getItem, key, setItem } from "./_py_helpers.ts";
import { longContext } from "./long_context.ts";
import { parseYmd } from "./_dates.ts";
import { AIRPORT_BY_CITY, AIRPORTS, BASE_COSTS, EXCHANGE_RATES } from "./_travel_tables.ts";

const STATE_KEYS: [string, PyValue][] = [
  ["credit_card_list", null],
  ["booking_record", null],
  ["access_token", null],
  ["token_type", null],
  ["token_expires_in", null],
  ["token_scope", null],
  ["user_first_name", null],
  ["user_last_name", null],
  ["budget_limit", null],
];

function fail(statusKey: string | null, message: string): PyDict {
  return statusKey ? dict([statusKey, false], ["error", message]) : dict(["error", message]);
}

/** A travel booking system (flights, cards, insurance). */
export class TravelAPI extends StatefulEnv<TravelAPI> {
  /** The Python class name. */
  readonly className = "TravelAPI";
  #flightCostLookup = new Map<string, PyValue>();
  /** Clock for the age check of `verify_traveler_information` (the reference uses `today()`). */
  now: () => Date = () => new Date();

  protected methods(): Record<string, MethodDef<TravelAPI>> {
    return METHODS;
  }

  protected create(): TravelAPI {
    return new TravelAPI();
  }

  protected override cloneExtra(copy: TravelAPI): void {
    copy.#flightCostLookup = new Map(this.#flightCostLookup);
    copy.now = this.now;
  }

  loadScenario(scenario: PyDict, longCtx: boolean): void {
    const seed = scenarioGet(scenario, "random_seed", 141053n);
    this.random = new PyRandom(typeof seed === "bigint" ? seed : 141053n);
    this.attrs = new PyDict();
    for (const [k, v] of STATE_KEYS) {
      const fallback = k === "credit_card_list" || k === "booking_record" ? new PyDict() : v;
      this.set(k, scenarioGet(scenario, k, fallback));
    }
    this.set("long_context", longCtx);
    if (longCtx) {
      for (
        const [table, name] of [["credit_card_list", "CREDIT_CARD_EXTENSION"], [
          "booking_record",
          "BOOKING_RECORD_EXTENSION",
        ]]
      ) {
        const target = this.get(table!);
        for (const [k, v] of longContext().get(name!) as PyDict) {
          if (!contains(target, k)) setItem(target, k, v);
        }
      }
    }
  }

  /** The shared token checks; `null` when the token is valid. */
  #tokenError(token: PyValue, statusKey: string | null): PyDict | null {
    if (pyEquals(this.get("token_expires_in"), 0n)) return fail(statusKey, "Token expired");
    if (!pyEquals(token, this.get("access_token"))) return fail(statusKey, "Invalid access token");
    return null;
  }

  static authenticate(s: TravelAPI, a: PyValue[]): PyValue {
    const [, , , grantType, first, last] = a;
    s.set("token_expires_in", 2n);
    s.set("access_token", String(s.rng().randint(100000, 999999)));
    s.set("token_type", "Bearer");
    s.set("token_scope", grantType!);
    s.set("user_first_name", first!);
    s.set("user_last_name", last!);
    return dict(["expires_in", 2n], ["access_token", s.get("access_token")], [
      "token_type",
      "Bearer",
    ], ["scope", grantType!]);
  }

  static loginStatus(s: TravelAPI): PyValue {
    const t = s.get("token_expires_in");
    return dict(["status", !(t === null || pyEquals(t, 0n))]);
  }

  static registerCard(s: TravelAPI, a: PyValue[]): PyValue {
    const [token, number, expiration, holder, cvv] = a as [
      PyValue,
      PyValue,
      PyValue,
      PyValue,
      PyValue,
    ];
    if (s.get("token_expires_in") === null) return fail(null, "Token not initialized");
    const err = s.#tokenError(token, null);
    if (err) return err;
    if (contains(s.get("credit_card_list"), number)) return fail(null, "Card already registered");
    const cardId = String(s.rng().randint(100000000000, 999999999999));
    setItem(
      s.get("credit_card_list"),
      cardId,
      dict(
        ["card_number", number],
        ["expiration_date", expiration],
        ["cardholder_name", holder],
        ["card_verification_number", cvv],
        ["balance", s.rng().randint(10000, 99999)],
      ),
    );
    return dict(["card_id", cardId]);
  }

  static flightCost(
    s: TravelAPI,
    from: PyValue,
    to: PyValue,
    date: PyValue,
    cls: PyValue,
  ): PyValue {
    const base = BASE_COSTS.find(([f, t]) => f === from && t === to);
    if (!base) throw new PyError("ValueError", "No available route for the given airports.");
    const factor = cls === "economy" ? 1 : cls === "business" ? 2 : cls === "first" ? 5 : 0;
    if (factor === 0) {
      throw new PyError(
        "ValueError",
        "Invalid travel class. Options are: economy, business, first.",
      );
    }
    if (typeof date !== "string") {
      throw new PyError("TypeError", `'${typeof date}' object is not iterable`);
    }
    let digitSum = 0;
    for (const ch of date) if (ch >= "0" && ch <= "9") digitSum += Number(ch);
    const mult = digitSum % 2 === 0 ? 2 : 1;
    const keyOf = (f: string, t: string) => `${f}|${t}|${cls}|${date}`;
    s.#flightCostLookup = new Map();
    if (pyEquals(s.get("long_context"), true)) {
      const list: PyValue[] = [];
      for (const [f, t, b] of BASE_COSTS) {
        const cost = b * factor * mult;
        s.#flightCostLookup.set(keyOf(f, t), cost);
        list.push(cost);
      }
      return dict(["travel_cost_list", list]);
    }
    const cost = base[2] * factor * mult;
    s.#flightCostLookup.set(keyOf(base[0], base[1]), cost);
    return dict(["travel_cost_list", [cost]]);
  }

  static cardBalance(s: TravelAPI, token: PyValue, cardId: PyValue): PyValue {
    const err = s.#tokenError(token, null);
    if (err) return err;
    const cards = s.get("credit_card_list") as PyDict;
    if (!contains(cards, cardId)) {
      return fail(
        null,
        "Card not registered. Here are a list of card_id's: " + pyRepr([...cards.keys()]),
      );
    }
    return dict(["card_balance", getItem(getItem(cards, cardId), "balance")]);
  }

  static book(s: TravelAPI, a: PyValue[]): PyValue {
    const [token, cardId, date, from, to, cls] = a as [
      PyValue,
      PyValue,
      PyValue,
      PyValue,
      PyValue,
      PyValue,
    ];
    const err = s.#tokenError(token, "booking_status");
    if (err) return err;
    const cards = s.get("credit_card_list");
    if (!contains(cards, cardId)) return fail("booking_status", "Card not registered");
    const card = getItem(cards, cardId);
    if (!contains(card, "balance")) return fail("booking_status", "Balance not found");
    if (!AIRPORTS.some((x) => pyEquals(x, from))) {
      return fail("booking_status", `Invalid departure airport code: ${pyStrOf(from)}`);
    }
    if (!AIRPORTS.some((x) => pyEquals(x, to))) {
      return fail("booking_status", `Invalid destination airport code: ${pyStrOf(to)}`);
    }
    try {
      parseYmd(date);
    } catch (e) {
      if (e instanceof PyError && e.pyType === "ValueError") {
        return fail("booking_status", "Invalid date format. Use YYYY-MM-DD.");
      }
      throw e;
    }
    if (cls !== "economy" && cls !== "business" && cls !== "first") {
      return fail(
        "booking_status",
        "Invalid travel class. Must be one of {'first', 'business', 'economy'}",
      );
    }
    let cost: PyValue;
    try {
      TravelAPI.flightCost(s, from, to, date, cls);
      const entry = s.#flightCostLookup.get(`${from}|${to}|${cls}|${date}`);
      if (entry === undefined) {
        return fail("booking_status", "No available route for the given parameters");
      }
      cost = entry;
    } catch (e) {
      if (e instanceof PyError && e.pyType === "ValueError") {
        return fail("booking_status", e.message);
      }
      throw e;
    }
    if (pyLt(getItem(card, "balance"), cost)) return fail("booking_status", "Insufficient funds");
    const budget = s.get("budget_limit");
    if (budget !== null && pyLt(getItem(card, "balance"), budget)) {
      return fail("booking_status", "Balance is less than budget limit");
    }
    setItem(card, "balance", pySub(getItem(card, "balance"), cost));
    const bookingId = String(s.rng().randint(1000000, 9999999));
    const transactionId = String(s.rng().randint(10000000, 99999999));
    setItem(
      s.get("booking_record"),
      bookingId,
      dict(
        ["card_id", cardId],
        ["travel_date", date],
        ["travel_from", from],
        ["travel_to", to],
        ["travel_class", cls],
        ["travel_cost", cost],
        ["transaction_id", transactionId],
      ),
    );
    const history = pyEquals(s.get("long_context"), true) ? s.get("booking_record") : new PyDict();
    return dict(["booking_id", bookingId], ["transaction_id", transactionId], [
      "booking_status",
      true,
    ], ["booking_history", history]);
  }

  static invoice(s: TravelAPI, token: PyValue, bookingId: PyValue): PyValue {
    const err = s.#tokenError(token, null);
    if (err) return err;
    const records = s.get("booking_record");
    if (!contains(records, bookingId)) return fail(null, "Booking not found");
    const r = getItem(records, bookingId);
    const inv = dict(["booking_id", bookingId]);
    for (
      const k of [
        "travel_date",
        "travel_from",
        "travel_to",
        "travel_class",
        "travel_cost",
        "transaction_id",
      ]
    ) {
      inv.set(k, getItem(r, k));
    }
    return dict(["invoice", inv]);
  }

  static history(s: TravelAPI, token: PyValue): PyValue {
    const err = s.#tokenError(token, null);
    if (err) return err;
    return dict(["booking_history", (s.get("booking_record") as PyDict).copy()]);
  }

  static cancel(s: TravelAPI, token: PyValue, bookingId: PyValue): PyValue {
    const err = s.#tokenError(token, "cancel_status");
    if (err) return err;
    const records = s.get("booking_record") as PyDict;
    if (!contains(records, bookingId)) return fail("cancel_status", "Booking not found");
    const r = getItem(records, bookingId);
    const card = getItem(s.get("credit_card_list"), getItem(r, "card_id"));
    setItem(card, "balance", pyAdd(getItem(card, "balance"), getItem(r, "travel_cost")));
    records.delete(key(bookingId));
    return dict(["cancel_status", true]);
  }

  static exchange(_s: TravelAPI, base: PyValue, target: PyValue, value: PyValue): PyValue {
    for (const [from, to, rate] of EXCHANGE_RATES) {
      if (pyEquals(base, from) && pyEquals(target, to)) {
        return dict(["exchanged_value", pyFloat(pyMul(value, rate))]);
      }
      if (pyEquals(base, to) && pyEquals(target, from)) {
        return dict(["exchanged_value", pyRound(pyTrueDiv(value, rate), 2n)]);
      }
    }
    throw new PyError("ValueError", "No available exchange rate for the given currencies.");
  }

  static verify(s: TravelAPI, a: PyValue[]): PyValue {
    const [first, last, dob, passport] = a as [PyValue, PyValue, PyValue, PyValue];
    if (!pyEquals(s.get("user_first_name"), first) || !pyEquals(s.get("user_last_name"), last)) {
      return dict(["verification_status", false], [
        "verification_failure",
        `Cannot book flight information for another user.Expected ${
          pyStrOf(s.get("user_first_name"))
        } ${pyStrOf(s.get("user_last_name"))}, got ${pyStrOf(first)} ${pyStrOf(last)}`,
      ]);
    }
    let birth: Date;
    try {
      birth = new Date(parseYmd(dob));
    } catch (e) {
      if (e instanceof PyError && e.pyType === "ValueError") {
        return dict(["verification_status", false], [
          "verification_failure",
          "Invalid date of birth format. Please use YYYY-MM-DD.",
        ]);
      }
      throw e;
    }
    const today = s.now();
    const before = today.getMonth() + 1 < birth.getUTCMonth() + 1 ||
      (today.getMonth() === birth.getUTCMonth() && today.getDate() < birth.getUTCDate());
    const age = today.getFullYear() - birth.getUTCFullYear() - (before ? 1 : 0);
    if (age < 18) {
      return dict(["verification_status", false], [
        "verification_failure",
        "Traveler must be at least 18 years old.",
      ]);
    }
    if (typeof passport !== "string") {
      throw new PyError(
        "AttributeError",
        `'${pyRepr(passport)}' object has no attribute 'startswith'`,
      );
    }
    if (!passport.startsWith("US")) {
      return dict(["verification_status", false], [
        "verification_failure",
        "Passport must be issued by the United States.",
      ]);
    }
    return dict(["verification_status", true]);
  }

  static budget(s: TravelAPI, token: PyValue, limit: PyValue): PyValue {
    const err = s.#tokenError(token, null);
    if (err) return err;
    const v = pyFloat(limit);
    s.set("budget_limit", v);
    return dict(["budget_limit", v]);
  }

  static insurance(s: TravelAPI, a: PyValue[]): PyValue {
    const [token, , bookingId, cost, cardId] = a as [PyValue, PyValue, PyValue, PyValue, PyValue];
    const err = s.#tokenError(token, "insurance_status");
    if (err) return err;
    const budget = s.get("budget_limit");
    if (budget !== null && pyLt(budget, cost)) {
      return fail("insurance_status", "Exceeded budget limit");
    }
    if (!contains(s.get("booking_record"), bookingId)) {
      return fail("insurance_status", "Booking not found");
    }
    if (!contains(s.get("credit_card_list"), cardId)) {
      return fail("insurance_status", "Credit card not registered");
    }
    const card = getItem(s.get("credit_card_list"), cardId);
    setItem(card, "balance", pySub(getItem(card, "balance"), cost));
    return dict(["insurance_id", String(s.rng().randint(100000000, 999999999))], [
      "insurance_status",
      true,
    ]);
  }

  static support(s: TravelAPI, bookingId: PyValue): PyValue {
    if (!contains(s.get("booking_record"), bookingId)) return fail(null, "Booking not found");
    return dict([
      "customer_support_message",
      "Thank you for contacting customer support. Your message has been received and we will get back to you shortly.",
    ]);
  }

  static cards(s: TravelAPI): PyValue {
    return dict(["credit_card_list", s.get("credit_card_list")]);
  }
}

function pyStrOf(v: PyValue): string {
  return typeof v === "string" ? v : pyRepr(v);
}

const METHODS: Record<string, MethodDef<TravelAPI>> = {
  authenticate_travel: {
    params: params(["client_id"], ["client_secret"], ["refresh_token"], ["grant_type"], [
      "user_first_name",
    ], ["user_last_name"]),
    impl: (s, a) => TravelAPI.authenticate(s, a),
  },
  book_flight: {
    params: params(["access_token"], ["card_id"], ["travel_date"], ["travel_from"], ["travel_to"], [
      "travel_class",
    ]),
    impl: (s, a) => TravelAPI.book(s, a),
  },
  cancel_booking: {
    params: params(["access_token"], ["booking_id"]),
    impl: (s, a) => TravelAPI.cancel(s, a[0]!, a[1]!),
  },
  compute_exchange_rate: {
    params: params(["base_currency"], ["target_currency"], ["value"]),
    impl: (s, a) => TravelAPI.exchange(s, a[0]!, a[1]!, a[2]!),
  },
  contact_customer_support: {
    params: params(["booking_id"], ["message"]),
    impl: (s, a) => TravelAPI.support(s, a[0]!),
  },
  get_all_credit_cards: { params: params(), impl: (s) => TravelAPI.cards(s) },
  get_booking_history: {
    params: params(["access_token"]),
    impl: (s, a) => TravelAPI.history(s, a[0]!),
  },
  get_budget_fiscal_year: {
    params: params(["lastModifiedAfter", null], ["includeRemoved", null]),
    impl: () => dict(["budget_fiscal_year", "2018"]),
  },
  get_credit_card_balance: {
    params: params(["access_token"], ["card_id"]),
    impl: (s, a) => TravelAPI.cardBalance(s, a[0]!, a[1]!),
  },
  get_flight_cost: {
    params: params(["travel_from"], ["travel_to"], ["travel_date"], ["travel_class"]),
    impl: (s, a) => TravelAPI.flightCost(s, a[0]!, a[1]!, a[2]!, a[3]!),
  },
  get_nearest_airport_by_city: {
    params: params(["location"]),
    impl: (_, a) => dict(["nearest_airport", dictGet(AIRPORT_BY_CITY, a[0]!, "Unknown")]),
  },
  list_all_airports: { params: params(), impl: () => [...AIRPORTS] },
  purchase_insurance: {
    params: params(["access_token"], ["insurance_type"], ["booking_id"], ["insurance_cost"], [
      "card_id",
    ]),
    impl: (s, a) => TravelAPI.insurance(s, a),
  },
  register_credit_card: {
    params: params(["access_token"], ["card_number"], ["expiration_date"], ["cardholder_name"], [
      "card_verification_number",
    ]),
    impl: (s, a) => TravelAPI.registerCard(s, a),
  },
  retrieve_invoice: {
    params: params(["access_token"], ["booking_id", null], ["insurance_id", null]),
    impl: (s, a) => TravelAPI.invoice(s, a[0]!, a[1]!),
  },
  set_budget_limit: {
    params: params(["access_token"], ["budget_limit"]),
    impl: (s, a) => TravelAPI.budget(s, a[0]!, a[1]!),
  },
  travel_get_login_status: { params: params(), impl: (s) => TravelAPI.loginStatus(s) },
  verify_traveler_information: {
    params: params(["first_name"], ["last_name"], ["date_of_birth"], ["passport_number"]),
    impl: (s, a) => TravelAPI.verify(s, a),
  },
};
