/** Curriculum intents of TradingBot, TravelAPI and VehicleControlAPI. */
import { field, type Intent, numberText, q } from "./intent.ts";

/** TradingBot intents (logged in, market open). */
export const TRADING_INTENTS: readonly Intent[] = [
  {
    id: "trade.buy",
    cls: "TradingBot",
    maxCalls: 3,
    depth: 2,
    build(ctx) {
      const name = ctx.draw("company");
      const symbol = field(ctx.run(`get_symbol_by_name(name=${q(name)})`), "symbol") as string;
      ctx.run(`get_stock_info(symbol=${q(symbol)})`);
      const price = numberText(ctx.lastText, "price");
      const amount = ctx.draw("smallInt");
      const order = `place_order(order_type='Buy', symbol=${
        q(symbol)
      }, price=${price}, amount=${amount})`;
      ctx.run(order);
      ctx.facts.set("order", numberText(ctx.lastText, "order_id"));
      return {
        slots: { name, amount },
        calls: [
          `get_symbol_by_name(name=${q(name)})`,
          `get_stock_info(symbol=${q(symbol)})`,
          order,
        ],
        ask: { slot: "amount", label: "number of shares" },
      };
    },
  },
  {
    id: "trade.cancel",
    cls: "TradingBot",
    maxCalls: 1,
    depth: 1,
    needs: ["order"],
    build(ctx) {
      const call = `cancel_order(order_id=${ctx.facts.get("order")})`;
      ctx.run(call);
      ctx.facts.delete("order");
      return { slots: {}, calls: [call] };
    },
  },
  {
    id: "trade.details",
    cls: "TradingBot",
    maxCalls: 1,
    depth: 1,
    needs: ["order"],
    build(ctx) {
      const call = `get_order_details(order_id=${ctx.facts.get("order")})`;
      ctx.run(call);
      return { slots: {}, calls: [call] };
    },
  },
  {
    id: "trade.watch",
    cls: "TradingBot",
    maxCalls: 2,
    depth: 1,
    build(ctx) {
      const name = ctx.draw("company");
      const symbol = field(ctx.run(`get_symbol_by_name(name=${q(name)})`), "symbol") as string;
      ctx.run(`add_to_watchlist(stock=${q(symbol)})`);
      return {
        slots: { name },
        calls: [`get_symbol_by_name(name=${q(name)})`, `add_to_watchlist(stock=${q(symbol)})`],
      };
    },
  },
  {
    id: "trade.fund",
    cls: "TradingBot",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const amount = `${ctx.draw("smallInt")}00.0`;
      const call = `fund_account(amount=${amount})`;
      ctx.run(call);
      return { slots: { amount }, calls: [call], ask: { slot: "amount", label: "amount" } };
    },
  },
];

/** TravelAPI intents. */
export const TRAVEL_INTENTS: readonly Intent[] = [
  {
    id: "travel.airport",
    cls: "TravelAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const city = ctx.draw("airportCity");
      const call = `get_nearest_airport_by_city(location=${q(city)})`;
      ctx.run(call);
      return { slots: { city }, calls: [call], ask: { slot: "city", label: "city" } };
    },
  },
  {
    id: "travel.cost",
    cls: "TravelAPI",
    maxCalls: 3,
    depth: 1,
    build(ctx) {
      const from = ctx.draw("airportCity");
      const to = ctx.draw("airportCity", new Set([from]));
      const a = field(
        ctx.run(`get_nearest_airport_by_city(location=${q(from)})`),
        "nearest_airport",
      );
      const b = field(ctx.run(`get_nearest_airport_by_city(location=${q(to)})`), "nearest_airport");
      const date = `2024-12-${String(ctx.int(10, 28))}`;
      const cost = `get_flight_cost(travel_from=${q(String(a))}, travel_to=${q(String(b))}, ` +
        `travel_date=${q(date)}, travel_class='economy')`;
      ctx.run(cost);
      return {
        slots: { from, to, date },
        calls: [
          `get_nearest_airport_by_city(location=${q(from)})`,
          `get_nearest_airport_by_city(location=${q(to)})`,
          cost,
        ],
        ask: { slot: "date", label: "date" },
      };
    },
  },
  {
    id: "travel.exchange",
    cls: "TravelAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const cur = ctx.draw("currency");
      const value = `${ctx.draw("smallInt")}0.0`;
      const call = `compute_exchange_rate(base_currency='USD', target_currency=${
        q(cur)
      }, value=${value})`;
      ctx.run(call);
      return { slots: { cur, value }, calls: [call], ask: { slot: "value", label: "amount" } };
    },
  },
];

/** VehicleControlAPI intents. */
export const VEHICLE_INTENTS: readonly Intent[] = [
  {
    id: "car.start",
    cls: "VehicleControlAPI",
    maxCalls: 2,
    depth: 0,
    build(ctx) {
      if (ctx.facts.get("engine") === "running") throw new RangeError("Cannot start: running");
      ctx.run("pressBrakePedal(pedalPosition=1.0)");
      ctx.run("startEngine(ignitionMode='START')");
      ctx.facts.set("engine", "running");
      return {
        slots: {},
        calls: ["pressBrakePedal(pedalPosition=1.0)", "startEngine(ignitionMode='START')"],
      };
    },
  },
  {
    id: "car.distance",
    cls: "VehicleControlAPI",
    maxCalls: 3,
    depth: 1,
    build(ctx) {
      const a = ctx.draw("city");
      const b = ctx.draw("city", new Set([a]));
      const za = field(ctx.run(`get_zipcode_based_on_city(city=${q(a)})`), "zipcode") as string;
      const zb = field(ctx.run(`get_zipcode_based_on_city(city=${q(b)})`), "zipcode") as string;
      const call = `estimate_distance(cityA=${q(za)}, cityB=${q(zb)})`;
      ctx.run(call);
      ctx.facts.set("distance", numberText(ctx.lastText, "distance"));
      return {
        slots: { a, b },
        calls: [
          `get_zipcode_based_on_city(city=${q(a)})`,
          `get_zipcode_based_on_city(city=${q(b)})`,
          call,
        ],
      };
    },
  },
  {
    id: "car.feasible",
    cls: "VehicleControlAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["distance"],
    build(ctx) {
      const call = `estimate_drive_feasibility_by_mileage(distance=${ctx.facts.get("distance")})`;
      ctx.run(call);
      return { slots: {}, calls: [call] };
    },
  },
  {
    id: "car.fuel",
    cls: "VehicleControlAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const n = `${ctx.int(2, 15)}.0`;
      const call = `fillFuelTank(fuelAmount=${n})`;
      ctx.run(call);
      return { slots: { n }, calls: [call], ask: { slot: "n", label: "amount" } };
    },
  },
  {
    id: "car.climate",
    cls: "VehicleControlAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const t = `${ctx.int(16, 28)}.0`;
      const call = `adjustClimateControl(temperature=${t}, unit='celsius')`;
      ctx.run(call);
      return { slots: { t }, calls: [call], ask: { slot: "t", label: "temperature" } };
    },
  },
];
