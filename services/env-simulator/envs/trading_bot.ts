/**
 * BFCL `TradingBot` (HEAD semantics, docs/bfcl-spec.md §5.6).
 * @module
 */
import {
  formatFixed,
  pyAbs,
  pyAdd,
  PyDict,
  pyEquals,
  PyError,
  pyFloat,
  pyGe,
  pyGt,
  pyIter,
  pyLe,
  pyMul,
  PyRandom,
  pyRepr,
  pySub,
  pyTruthy,
  type PyValue,
  toFloat,
} from "@parlmt/pycompat";
import { dict, type MethodDef, params, scenarioGet, StatefulEnv } from "./bfcl_env.ts";
import {
  append,
  contains,
  dictGet,
  fmt,
  getItem,
  intFromStr,
  lower,
  removeFirst,
  setItem,
} from "./_py_helpers.ts";
import { longContext } from "./long_context.ts";
import { parseYmd } from "./_dates.ts";

/** `CURRENT_TIME = datetime(2024, 9, 1, 10, 30)` as milliseconds of a naive UTC clock. */
const CURRENT_TIME_MS = Date.UTC(2024, 8, 1, 10, 30);

function stock(price: number, change: number, volume: number, ma5: number, ma20: number): PyDict {
  return dict(["price", price], ["percent_change", change], ["volume", volume], ["MA(5)", ma5], [
    "MA(20)",
    ma20,
  ]);
}

function defaultState(): PyDict {
  return dict(
    [
      "orders",
      new PyDict([
        [
          12345n,
          dict(["id", 12345n], ["order_type", "Buy"], ["symbol", "AAPL"], ["price", 210.65], [
            "amount",
            10n,
          ], ["status", "Completed"]),
        ],
        [
          12446n,
          dict(["id", 12446n], ["order_type", "Sell"], ["symbol", "GOOG"], ["price", 2840.56], [
            "amount",
            5n,
          ], ["status", "Pending"]),
        ],
      ]),
    ],
    [
      "account_info",
      dict(["account_id", 12345n], ["balance", 10000.0], ["binding_card", 1974202140965533n]),
    ],
    ["authenticated", false],
    ["market_status", "Closed"],
    ["order_counter", 12446n],
    [
      "stocks",
      dict(
        ["AAPL", stock(227.16, 0.17, 2.552, 227.11, 227.09)],
        ["GOOG", stock(2840.34, 0.24, 1.123, 2835.67, 2842.15)],
        ["TSLA", stock(667.92, -0.12, 1.654, 671.15, 668.2)],
        ["MSFT", stock(310.23, 0.09, 3.234, 309.88, 310.11)],
        ["NVDA", stock(220.34, 0.34, 1.234, 220.45, 220.67)],
        ["ALPH", stock(1320.45, -0.08, 1.567, 1321.12, 1325.78)],
        ["OMEG", stock(457.23, 0.12, 2.345, 456.78, 458.12)],
        ["QUAS", stock(725.89, -0.03, 1.789, 726.45, 728.0)],
        ["NEPT", stock(88.34, 0.19, 0.654, 88.21, 88.67)],
        ["SYNX", stock(345.67, 0.11, 2.112, 345.34, 346.12)],
        ["ZETA", stock(22.09, -0.05, 0.789, 22.12, 22.34)],
      ),
    ],
    ["watch_list", ["NVDA"]],
    ["transaction_history", []],
  );
}

const SYMBOLS = dict(
  ["Apple", "AAPL"],
  ["Google", "GOOG"],
  ["Tesla", "TSLA"],
  ["Microsoft", "MSFT"],
  ["Nvidia", "NVDA"],
  ["Zeta Corp", "ZETA"],
  ["Alpha Tech", "ALPH"],
  ["Omega Industries", "OMEG"],
  ["Quasar Ltd.", "QUAS"],
  ["Neptune Systems", "NEPT"],
  ["Synex Solutions", "SYNX"],
  ["Amazon", "AMZN"],
  ["Gorilla", "GORI"],
);

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** A stock trading account. */
export class TradingBot extends StatefulEnv<TradingBot> {
  /** The Python class name. */
  readonly className = "TradingBot";

  protected methods(): Record<string, MethodDef<TradingBot>> {
    return METHODS;
  }

  protected create(): TradingBot {
    return new TradingBot();
  }

  loadScenario(scenario: PyDict, longCtx: boolean): void {
    this.attrs = new PyDict();
    for (const [k, v] of defaultState()) {
      let value = scenarioGet(scenario, k, v);
      if (k === "orders" && value instanceof PyDict) {
        const converted = new PyDict();
        for (const [ok, ov] of value) {
          const isDigits = typeof ok === "string" && /^[0-9]+$/.test(ok);
          converted.set(isDigits ? intFromStr(ok)! : ok, ov);
        }
        value = converted;
      }
      this.set(k as string, value);
    }
    this.set("long_context", longCtx);
    const seed = scenarioGet(scenario, "random_seed", 1053520n);
    this.random = new PyRandom(typeof seed === "bigint" ? seed : 1053520n);
  }

  #lc(): boolean {
    return pyTruthy(this.get("long_context"));
  }

  #auth(): boolean {
    return pyTruthy(this.get("authenticated"));
  }

  #timestamp(): string {
    const offset = Number(this.rng().randint(0, 86400));
    return formatTimestamp(CURRENT_TIME_MS + offset * 1000);
  }

  static stockInfo(s: TradingBot, symbol: PyValue): PyValue {
    if (!contains(s.get("stocks"), symbol)) {
      return dict(["error", `Stock with symbol '${fmt(symbol)}' not found.`]);
    }
    const info = getItem(s.get("stocks"), symbol);
    if (s.#lc()) {
      const copy = (info as PyDict).copy();
      copy.set("MA(5)", longContext().get("MA_5_EXTENSION"));
      copy.set("MA(20)", longContext().get("MA_20_EXTENSION"));
      return copy;
    }
    return info;
  }

  static orderDetails(s: TradingBot, orderId: PyValue): PyValue {
    const orders = s.get("orders") as PyDict;
    if (!contains(orders, orderId)) {
      return dict([
        "error",
        `Order with ID ${fmt(orderId)} not found.Here is the list of orders_id: ${
          pyRepr([...orders.keys()])
        }`,
      ]);
    }
    const order = getItem(orders, orderId);
    if (s.#lc()) {
      const copy = (order as PyDict).copy();
      const symbol = fmt(getItem(copy, "symbol"));
      const meta = new PyDict();
      for (const [k, v] of longContext().get("ORDER_DETAIL_EXTENSION") as PyDict) {
        meta.set(k, String(v).replaceAll("{symbol}", symbol));
      }
      copy.set("metadata", meta);
      return copy;
    }
    return order;
  }

  static cancel(s: TradingBot, orderId: PyValue): PyValue {
    if (!contains(s.get("orders"), orderId)) {
      return dict(["error", `Order with ID ${fmt(orderId)} not found.`]);
    }
    const order = getItem(s.get("orders"), orderId);
    if (pyEquals(getItem(order, "status"), "Completed")) {
      return dict(["error", `Can't cancel order ${fmt(orderId)}. Order is already completed.`]);
    }
    setItem(order, "status", "Cancelled");
    return dict(["order_id", orderId], ["status", "Cancelled"]);
  }

  static place(
    s: TradingBot,
    orderType: PyValue,
    symbol: PyValue,
    priceArg: PyValue,
    amount: PyValue,
  ): PyValue {
    if (!s.#auth()) {
      return dict(["error", "User not authenticated. Please log in to place an order."]);
    }
    if (!contains(s.get("stocks"), symbol)) {
      return dict(["error", `Invalid stock symbol: ${fmt(symbol)}`]);
    }
    if (pyLe(priceArg, 0n) || pyLe(amount, 0n)) {
      return dict(["error", "Price and amount must be positive values."]);
    }
    const price = pyFloat(priceArg);
    if (lower(orderType) === "buy") {
      const required = pyMul(price, amount);
      const balance = getItem(s.get("account_info"), "balance");
      if (pyGt(required, balance)) {
        return dict([
          "error",
          `Insufficient funds: required $${formatFixed(toFloat(required as number), 2)} but only $${
            formatFixed(pyFloat(balance), 2)
          } available.`,
        ]);
      }
    }
    const id = s.get("order_counter");
    setItem(
      s.get("orders"),
      id,
      dict(
        ["id", id],
        ["order_type", orderType],
        ["symbol", symbol],
        ["price", price],
        ["amount", amount],
        ["status", "Open"],
      ),
    );
    s.set("order_counter", pyAdd(id, 1n));
    return dict(["order_id", id], ["order_type", orderType], ["status", "Pending"], [
      "price",
      price,
    ], ["amount", amount]);
  }

  static withdraw(s: TradingBot, amount: PyValue): PyValue {
    if (!s.#auth()) {
      return dict(["error", "User not authenticated. Please log in to make a transaction."]);
    }
    if (!pyEquals(s.get("market_status"), "Open")) {
      return dict(["error", "Market is closed. Transactions are not allowed."]);
    }
    if (pyLe(amount, 0n)) return dict(["error", "Transaction amount must be positive."]);
    const info = s.get("account_info");
    if (pyGt(amount, getItem(info, "balance"))) {
      return dict(["error", "Insufficient funds for withdrawal."]);
    }
    setItem(info, "balance", pySub(getItem(info, "balance"), amount));
    append(
      s.get("transaction_history"),
      dict(["type", "withdrawal"], ["amount", amount], ["timestamp", s.#timestamp()]),
    );
    return dict(["status", "Withdrawal successful"], ["new_balance", getItem(info, "balance")]);
  }

  static fund(s: TradingBot, amount: PyValue): PyValue {
    if (!s.#auth()) {
      return dict(["error", "User not authenticated. Please log in to fund the account."]);
    }
    if (pyLe(amount, 0n)) return dict(["error", "Funding amount must be positive."]);
    const info = s.get("account_info");
    setItem(info, "balance", pyAdd(getItem(info, "balance"), amount));
    append(
      s.get("transaction_history"),
      dict(["type", "deposit"], ["amount", amount], ["timestamp", s.#timestamp()]),
    );
    return dict(["status", "Account funded successfully"], [
      "new_balance",
      getItem(info, "balance"),
    ]);
  }

  static accountInfo(s: TradingBot): PyValue {
    if (!s.#auth()) {
      return dict(["error", "User not authenticated. Please log in to view account information."]);
    }
    return s.get("account_info");
  }

  static loginStatus(s: TradingBot): PyValue {
    return dict(["status", s.#auth()]);
  }

  static login(s: TradingBot): PyValue {
    if (s.#auth()) return dict(["status", "Already logged in"]);
    s.set("authenticated", true);
    return dict(["status", "Logged in successfully"]);
  }

  static logout(s: TradingBot): PyValue {
    if (!s.#auth()) return dict(["status", "No user is currently logged in"]);
    s.set("authenticated", false);
    return dict(["status", "Logged out successfully"]);
  }

  static removeWatch(s: TradingBot, symbol: PyValue): PyValue {
    if (!s.#auth()) {
      return dict(["error", "User not authenticated. Please log in to modify the watchlist."]);
    }
    if (!contains(s.get("watch_list"), symbol)) {
      return dict(["error", `Stock ${fmt(symbol)} not found in watchlist.`]);
    }
    removeFirst(s.get("watch_list"), symbol);
    return dict(["status", `Stock ${fmt(symbol)} removed from watchlist successfully.`]);
  }

  static watchlist(s: TradingBot): PyValue {
    if (!s.#auth()) return ["Error: User not authenticated. Please log in to view the watchlist."];
    if (s.#lc()) {
      return [
        ...(s.get("watch_list") as PyValue[]),
        ...(longContext().get("WATCH_LIST_EXTENSION") as PyValue[]),
      ];
    }
    return dict(["watchlist", s.get("watch_list")]);
  }

  static orderHistory(s: TradingBot): PyValue {
    if (!s.#auth()) {
      return [dict(["error", "User not authenticated. Please log in to view order history."])];
    }
    return dict(["history", [...(s.get("orders") as PyDict).keys()]]);
  }

  static transactions(s: TradingBot, start: PyValue, end: PyValue): PyValue {
    if (!s.#auth()) {
      return [
        dict(["error", "User not authenticated. Please log in to view transaction history."]),
      ];
    }
    const lo = pyTruthy(start) ? parseYmd(start) : -Infinity;
    const hi = pyTruthy(end) ? parseYmd(end) : Infinity;
    const out = (s.get("transaction_history") as PyValue[]).filter((t) => {
      const ts = Date.parse(String(getItem(t, "timestamp")).replace(" ", "T") + "Z");
      return lo <= ts && ts <= hi;
    });
    if (s.#lc()) out.push(...(longContext().get("TRANSACTION_HISTORY_EXTENSION") as PyValue[]));
    return dict(["transaction_history", out]);
  }

  static available(s: TradingBot, sector: PyValue): PyValue {
    const map = dict(["Technology", ["AAPL", "GOOG", "MSFT", "NVDA"]], ["Automobile", [
      "TSLA",
      "F",
      "GM",
    ]]);
    if (s.#lc()) {
      (map.get("Technology") as PyValue[]).push(
        ...(longContext().get("TECHNOLOGY_EXTENSION") as PyValue[]),
      );
      (map.get("Automobile") as PyValue[]).push(
        ...(longContext().get("AUTOMOBILE_EXTENSION") as PyValue[]),
      );
    }
    return dict(["stock_list", dictGet(map, sector, [])]);
  }

  static filterByPrice(s: TradingBot, stocks: PyValue, min: PyValue, max: PyValue): PyValue {
    const out = [...pyIter(stocks)].filter((sym) => {
      const price = dictGet(dictGet(s.get("stocks"), sym, new PyDict()), "price", 0n);
      return pyGe(price, min) && pyLe(price, max);
    });
    return dict(["filtered_stocks", out]);
  }

  static addWatch(s: TradingBot, symbol: PyValue): PyValue {
    if (!contains(s.get("watch_list"), symbol) && contains(s.get("stocks"), symbol)) {
      append(s.get("watch_list"), symbol);
    }
    return dict(["watchlist", s.get("watch_list")]);
  }

  static notify(s: TradingBot, stocks: PyValue, threshold: PyValue): PyValue {
    const changed = [...pyIter(stocks)].filter((sym) =>
      contains(s.get("stocks"), sym) &&
      pyGe(pyAbs(getItem(getItem(s.get("stocks"), sym), "percent_change")), threshold)
    );
    if (changed.length > 0) {
      return dict([
        "notification",
        `Stocks ${
          changed.map((c) => {
            if (typeof c !== "string") {
              throw new PyError("TypeError", "sequence item 0: expected str instance");
            }
            return c;
          }).join(", ")
        } have significant price changes.`,
      ]);
    }
    return dict(["notification", "No significant price changes in the selected stocks."]);
  }
}

const METHODS: Record<string, MethodDef<TradingBot>> = {
  add_to_watchlist: { params: params(["stock"]), impl: (s, a) => TradingBot.addWatch(s, a[0]!) },
  cancel_order: { params: params(["order_id"]), impl: (s, a) => TradingBot.cancel(s, a[0]!) },
  filter_stocks_by_price: {
    params: params(["stocks"], ["min_price"], ["max_price"]),
    impl: (s, a) => TradingBot.filterByPrice(s, a[0]!, a[1]!, a[2]!),
  },
  fund_account: { params: params(["amount"]), impl: (s, a) => TradingBot.fund(s, a[0]!) },
  get_account_info: { params: params(), impl: (s) => TradingBot.accountInfo(s) },
  get_available_stocks: {
    params: params(["sector"]),
    impl: (s, a) => TradingBot.available(s, a[0]!),
  },
  get_current_time: { params: params(), impl: () => dict(["current_time", "10:30 AM"]) },
  get_order_details: {
    params: params(["order_id"]),
    impl: (s, a) => TradingBot.orderDetails(s, a[0]!),
  },
  get_order_history: { params: params(), impl: (s) => TradingBot.orderHistory(s) },
  get_stock_info: { params: params(["symbol"]), impl: (s, a) => TradingBot.stockInfo(s, a[0]!) },
  get_symbol_by_name: {
    params: params(["name"]),
    impl: (_, a) => dict(["symbol", dictGet(SYMBOLS, a[0]!, "Stock not found")]),
  },
  get_transaction_history: {
    params: params(["start_date", null], ["end_date", null]),
    impl: (s, a) => TradingBot.transactions(s, a[0]!, a[1]!),
  },
  get_watchlist: { params: params(), impl: (s) => TradingBot.watchlist(s) },
  notify_price_change: {
    params: params(["stocks"], ["threshold"]),
    impl: (s, a) => TradingBot.notify(s, a[0]!, a[1]!),
  },
  place_order: {
    params: params(["order_type"], ["symbol"], ["price"], ["amount"]),
    impl: (s, a) => TradingBot.place(s, a[0]!, a[1]!, a[2]!, a[3]!),
  },
  remove_stock_from_watchlist: {
    params: params(["symbol"]),
    impl: (s, a) => TradingBot.removeWatch(s, a[0]!),
  },
  trading_get_login_status: { params: params(), impl: (s) => TradingBot.loginStatus(s) },
  trading_login: { params: params(["username"], ["password"]), impl: (s) => TradingBot.login(s) },
  trading_logout: { params: params(), impl: (s) => TradingBot.logout(s) },
  withdraw_funds: { params: params(["amount"]), impl: (s, a) => TradingBot.withdraw(s, a[0]!) },
};
