/**
 * The 14 tools of the v1 airline domain, in `ALL_TOOLS` order, with the reference's checks,
 * mutation order, outputs and quirks (fixed reservation ids, no seat decrement, unconditional
 * cancels, the one-stop `date2` bug, the kept cabin; see QUIRKS.md).
 * @module
 */
import {
  pyDeepCopy,
  PyDict,
  pyEquals,
  pyIter,
  pyJsonDumps,
  pyLen,
  pyLt,
  pyMul,
  pyNeg,
  pyStr,
  pySub,
  pySum,
  type PyValue,
} from "@parlmt/pycompat";
import { getDict, getItem, iadd, inDict, isub, max2, ne, pyInt, sliceFrom } from "./_py.ts";
import type { TauDb } from "./db.ts";
import { calculateTool } from "./retail_tools.ts";
import { tool, type ToolDef } from "./tool.ts";

const AIRPORTS: readonly (readonly [string, string])[] = [
  ["SFO", "San Francisco"],
  ["JFK", "New York"],
  ["LAX", "Los Angeles"],
  ["ORD", "Chicago"],
  ["DFW", "Dallas"],
  ["DEN", "Denver"],
  ["SEA", "Seattle"],
  ["ATL", "Atlanta"],
  ["MIA", "Miami"],
  ["BOS", "Boston"],
  ["PHX", "Phoenix"],
  ["IAH", "Houston"],
  ["LAS", "Las Vegas"],
  ["MCO", "Orlando"],
  ["EWR", "Newark"],
  ["CLT", "Charlotte"],
  ["MSP", "Minneapolis"],
  ["DTW", "Detroit"],
  ["PHL", "Philadelphia"],
  ["LGA", "LaGuardia"],
];

/**
 * The per-flight checks shared by booking and flight changes. Sets `price`, `origin` and
 * `destination` on `flight` (appended after the agent's keys) and returns the added cost,
 * or the error text.
 */
function priceFlight(
  db: TauDb,
  flight: PyValue,
  cabin: PyValue,
  numPassengers: () => bigint,
): { error: string } | { cost: PyValue } {
  const flights = db.table("flights");
  const flightNumber = getItem(flight, "flight_number");
  if (!inDict(flights, flightNumber)) {
    return { error: `Error: flight ${pyStr(flightNumber)} not found` };
  }
  const flightData = getDict(flights, flightNumber);
  const date = getItem(flight, "date");
  const dates = getDict(flightData, "dates");
  if (!inDict(dates, date)) {
    return { error: `Error: flight ${pyStr(flightNumber)} not found on date ${pyStr(date)}` };
  }
  const dateData = getDict(dates, date);
  if (ne(getItem(dateData, "status"), "available")) {
    return {
      error: `Error: flight ${pyStr(flightNumber)} not available on date ${
        pyStr(getItem(flight, "date"))
      }`,
    };
  }
  if (pyLt(getItem(getItem(dateData, "available_seats"), cabin), numPassengers())) {
    return { error: `Error: not enough seats on flight ${pyStr(flightNumber)}` };
  }
  const f = flight as PyDict;
  f.set("price", getItem(getItem(dateData, "prices"), cabin));
  f.set("origin", getItem(flightData, "origin"));
  f.set("destination", getItem(flightData, "destination"));
  return { cost: pyMul(getItem(f, "price"), numPassengers()) };
}

function bookReservation(db: TauDb, args: PyValue[]): string {
  const [userId, origin, destination, flightType, cabin, flights, passengers, paymentMethods] =
    args;
  const [totalBaggages, nonfreeBaggages, insurance] = args.slice(8);
  const users = db.table("users");
  const reservations = db.table("reservations");
  if (!inDict(users, userId!)) return "Error: user not found";
  const user = getDict(users, userId!);
  let reservationId = "HATHAT";
  if (reservations.has(reservationId)) {
    reservationId = "HATHAU";
    if (reservations.has(reservationId)) reservationId = "HATHAV";
  }
  const reservation = new PyDict([
    ["reservation_id", reservationId],
    ["user_id", userId!],
    ["origin", origin!],
    ["destination", destination!],
    ["flight_type", flightType!],
    ["cabin", cabin!],
    ["flights", pyDeepCopy(flights!)],
    ["passengers", passengers!],
    ["payment_history", paymentMethods!],
    ["created_at", "2024-05-15T15:00:00"],
    ["total_baggages", totalBaggages!],
    ["nonfree_baggages", nonfreeBaggages!],
    ["insurance", insurance!],
  ]);
  let totalPrice: PyValue = 0n;
  for (const flight of pyIter(reservation.get("flights")!)) {
    const priced = priceFlight(db, flight, cabin!, () => BigInt(pyLen(passengers!)));
    if ("error" in priced) return priced.error;
    totalPrice = iadd(totalPrice, priced.cost);
  }
  if (pyEquals(insurance!, "yes")) totalPrice = iadd(totalPrice, 30n * BigInt(pyLen(passengers!)));
  totalPrice = iadd(totalPrice, pyMul(50n, nonfreeBaggages!));
  const userPms = getDict(user, "payment_methods");
  for (const payment of pyIter(paymentMethods!)) {
    const paymentId = getItem(payment, "payment_id");
    const amount = getItem(payment, "amount");
    if (!inDict(userPms, paymentId)) return `Error: payment method ${pyStr(paymentId)} not found`;
    const source = getItem(getItem(userPms, paymentId), "source");
    if (pyEquals(source, "gift_card") || pyEquals(source, "certificate")) {
      if (pyLt(getItem(getItem(userPms, paymentId), "amount"), amount)) {
        return `Error: not enough balance in payment method ${pyStr(paymentId)}`;
      }
    }
  }
  const paid = () => pySum([...pyIter(paymentMethods!)].map((p) => getItem(p, "amount")));
  if (ne(paid(), totalPrice)) {
    return `Error: payment amount does not add up, total price is ${pyStr(totalPrice)}, but paid ${
      pyStr(paid())
    }`;
  }
  // Checks passed: deduct (a certificate listed twice fails here, after the first deletion).
  const mutable = db.writable("users", userId as string);
  const pms = getDict(mutable, "payment_methods");
  for (const payment of pyIter(paymentMethods!)) {
    const paymentId = getItem(payment, "payment_id");
    const amount = getItem(payment, "amount");
    const source = getItem(getItem(pms, paymentId), "source");
    if (pyEquals(source, "gift_card")) {
      const pm = getDict(pms, paymentId);
      pm.set("amount", isub(getItem(pm, "amount"), amount));
    } else if (pyEquals(source, "certificate")) {
      pms.delete(paymentId as string);
    }
  }
  db.setRecord("reservations", reservationId, reservation);
  (getItem(mutable, "reservations") as PyValue[]).push(reservationId);
  return pyJsonDumps(reservation);
}

function cancelReservation(db: TauDb, [reservationId]: PyValue[]): string {
  if (!inDict(db.table("reservations"), reservationId!)) return "Error: reservation not found";
  const reservation = db.writable("reservations", reservationId as string);
  const history = getItem(reservation, "payment_history") as PyValue[];
  const refunds = [...pyIter(history)].map((p) =>
    new PyDict([["payment_id", getItem(p, "payment_id")], ["amount", pyNeg(getItem(p, "amount"))]])
  );
  history.push(...refunds);
  reservation.set("status", "cancelled");
  return pyJsonDumps(reservation);
}

function getReservationDetails(db: TauDb, [reservationId]: PyValue[]): string {
  const reservations = db.table("reservations");
  if (inDict(reservations, reservationId!)) {
    return pyJsonDumps(getItem(reservations, reservationId!));
  }
  return "Error: user not found";
}

function getUserDetails(db: TauDb, [userId]: PyValue[]): string {
  const users = db.table("users");
  if (inDict(users, userId!)) return pyJsonDumps(getItem(users, userId!));
  return "Error: user not found";
}

/** `{k: v for k, v in flight.items() if k != "dates"}` followed by `.update(extra)` */
function flightView(flight: PyDict, extra: PyValue): PyDict {
  const out = new PyDict([...flight.entries()].filter(([k]) => k !== "dates"));
  for (const [k, v] of extra as PyDict) out.set(k, v);
  return out;
}

function searchDirectFlight(db: TauDb, [origin, destination, date]: PyValue[]): string {
  const results: PyValue[] = [];
  for (const flight of db.table("flights").values() as IterableIterator<PyDict>) {
    if (
      pyEquals(flight.get("origin")!, origin!) && pyEquals(flight.get("destination")!, destination!)
    ) {
      const dates = getDict(flight, "dates");
      if (inDict(dates, date!) && pyEquals(getItem(getItem(dates, date!), "status"), "available")) {
        results.push(flightView(flight, getItem(dates, date!)));
      }
    }
  }
  return pyJsonDumps(results);
}

function searchOnestopFlight(db: TauDb, [origin, destination, date]: PyValue[]): string {
  const flights = [...db.table("flights").values()] as PyDict[];
  const results: PyValue[] = [];
  for (const flight1 of flights) {
    if (!pyEquals(flight1.get("origin")!, origin!)) continue;
    for (const flight2 of flights) {
      if (
        !(pyEquals(flight2.get("destination")!, destination!) &&
          pyEquals(flight1.get("destination")!, flight2.get("origin")!))
      ) continue;
      const arrival1 = flight1.get("scheduled_arrival_time_est") as string;
      const date2 = arrival1.includes("+1") ? `2024-05-${pyInt(sliceFrom(date!, -2)) + 1n}` : date!;
      if (arrival1 > (flight2.get("scheduled_departure_time_est") as string)) continue;
      const dates1 = getDict(flight1, "dates");
      const dates2 = getDict(flight2, "dates");
      if (inDict(dates1, date!) && inDict(dates2, date2)) {
        if (
          pyEquals(getItem(getItem(dates1, date!), "status"), "available") &&
          pyEquals(getItem(getItem(dates2, date2), "status"), "available")
        ) {
          const result1 = flightView(flight1, getItem(dates1, date!));
          result1.set("date", date!);
          // Reference bug kept: leg 2 shows the seats and prices of `date`, not `date2`.
          const result2 = flightView(flight2, getItem(dates2, date!));
          result2.set("date", date2);
          results.push([result1, result2]);
        }
      }
    }
  }
  return pyJsonDumps(results);
}

function sendCertificate(db: TauDb, [userId, amount]: PyValue[]): string | null {
  if (!inDict(db.table("users"), userId!)) return "Error: user not found";
  const pms = getDict(db.table("users").get(userId as string)!, "payment_methods");
  for (const id of [3221322, 3221323, 3221324]) {
    const paymentId = `certificate_${id}`;
    if (!pms.has(paymentId)) {
      const user = db.writable("users", userId as string);
      getDict(user, "payment_methods").set(
        paymentId,
        new PyDict([["source", "certificate"], ["amount", amount!], ["id", paymentId]]),
      );
      return `Certificate ${paymentId} added to user ${pyStr(userId!)} with amount ${
        pyStr(amount!)
      }.`;
    }
  }
  return null;
}

/** The payment checks shared by baggage and flight updates; the error text or the method. */
function updatePayment(
  db: TauDb,
  reservation: PyDict,
  paymentId: PyValue,
  price: PyValue,
): string | PyValue {
  const pms = getDict(getItem(db.table("users"), reservation.get("user_id")!), "payment_methods");
  if (!inDict(pms, paymentId)) return "Error: payment method not found";
  const pm = getItem(pms, paymentId);
  if (pyEquals(getItem(pm, "source"), "certificate")) {
    return "Error: certificate cannot be used to update reservation";
  } else if (pyEquals(getItem(pm, "source"), "gift_card") && pyLt(getItem(pm, "amount"), price)) {
    return "Error: gift card balance is not enough";
  }
  return pm;
}

function chargeGiftCard(db: TauDb, reservation: PyDict, paymentId: PyValue, price: PyValue): void {
  const user = db.writable("users", reservation.get("user_id") as string);
  const pm = getDict(getItem(user, "payment_methods"), paymentId);
  pm.set("amount", isub(getItem(pm, "amount"), price));
}

function updateReservationBaggages(
  db: TauDb,
  [reservationId, totalBaggages, nonfreeBaggages, paymentId]: PyValue[],
): string {
  const reservations = db.table("reservations");
  if (!inDict(reservations, reservationId!)) return "Error: reservation not found";
  const found = getDict(reservations, reservationId!);
  const totalPrice = pyMul(
    50n,
    max2(0n, pySub(nonfreeBaggages!, getItem(found, "nonfree_baggages"))),
  );
  const pm = updatePayment(db, found, paymentId!, totalPrice);
  if (typeof pm === "string") return pm;
  const reservation = db.writable("reservations", reservationId as string);
  reservation.set("total_baggages", totalBaggages!);
  reservation.set("nonfree_baggages", nonfreeBaggages!);
  if (pyEquals(getItem(pm, "source"), "gift_card")) {
    chargeGiftCard(db, reservation, paymentId!, totalPrice);
  }
  if (ne(totalPrice, 0n)) {
    (getItem(reservation, "payment_history") as PyValue[]).push(
      new PyDict([["payment_id", paymentId!], ["amount", totalPrice]]),
    );
  }
  return pyJsonDumps(reservation);
}

function updateReservationFlights(
  db: TauDb,
  [reservationId, cabin, flightsArg, paymentId]: PyValue[],
): string {
  const reservations = db.table("reservations");
  if (!inDict(reservations, reservationId!)) return "Error: reservation not found";
  const found = getDict(reservations, reservationId!);
  let totalPrice: PyValue = 0n;
  const flights = pyDeepCopy(flightsArg!);
  const numPassengers = () => BigInt(pyLen(getItem(found, "passengers")));
  const oldFlights = getItem(found, "flights");
  for (const flight of pyIter(flights)) {
    const same = [...pyIter(oldFlights)].filter((f) =>
      pyEquals(getItem(f, "flight_number"), getItem(flight, "flight_number")) &&
      pyEquals(getItem(f, "date"), getItem(flight, "date")) &&
      pyEquals(cabin!, getItem(found, "cabin"))
    );
    if (same.length > 0) {
      const old = same[0]!;
      totalPrice = iadd(totalPrice, pyMul(getItem(old, "price"), numPassengers()));
      const f = flight as PyDict;
      f.set("price", getItem(old, "price"));
      f.set("origin", getItem(old, "origin"));
      f.set("destination", getItem(old, "destination"));
      continue;
    }
    const priced = priceFlight(db, flight, cabin!, numPassengers);
    if ("error" in priced) return priced.error;
    totalPrice = iadd(totalPrice, priced.cost);
  }
  const oldTotal = pySum([...pyIter(oldFlights)].map((f) => getItem(f, "price")));
  totalPrice = isub(totalPrice, pyMul(oldTotal, numPassengers()));
  const pm = updatePayment(db, found, paymentId!, totalPrice);
  if (typeof pm === "string") return pm;
  const reservation = db.writable("reservations", reservationId as string);
  if (pyEquals(getItem(pm, "source"), "gift_card")) {
    chargeGiftCard(db, reservation, paymentId!, totalPrice);
  }
  reservation.set("flights", flights);
  if (ne(totalPrice, 0n)) {
    (getItem(reservation, "payment_history") as PyValue[]).push(
      new PyDict([["payment_id", paymentId!], ["amount", totalPrice]]),
    );
  }
  return pyJsonDumps(reservation);
}

function updateReservationPassengers(db: TauDb, [reservationId, passengers]: PyValue[]): string {
  const reservations = db.table("reservations");
  if (!inDict(reservations, reservationId!)) return "Error: reservation not found";
  const found = getDict(reservations, reservationId!);
  if (pyLen(passengers!) !== pyLen(getItem(found, "passengers"))) {
    return "Error: number of passengers does not match";
  }
  const reservation = db.writable("reservations", reservationId as string);
  reservation.set("passengers", passengers!);
  return pyJsonDumps(reservation);
}

/** The airline tools in the reference's `ALL_TOOLS` order. */
export const AIRLINE_TOOLS: readonly ToolDef[] = [
  tool(
    "book_reservation",
    [
      "user_id",
      "origin",
      "destination",
      "flight_type",
      "cabin",
      "flights",
      "passengers",
      "payment_methods",
      "total_baggages",
      "nonfree_baggages",
      "insurance",
    ],
    bookReservation,
  ),
  tool("calculate", ["expression"], (_db, [e]) => calculateTool(e!)),
  tool("cancel_reservation", ["reservation_id"], cancelReservation),
  tool("get_reservation_details", ["reservation_id"], getReservationDetails),
  tool("get_user_details", ["user_id"], getUserDetails),
  tool("list_all_airports", [], () => pyJsonDumps(new PyDict(AIRPORTS))),
  tool("search_direct_flight", ["origin", "destination", "date"], searchDirectFlight),
  tool("search_onestop_flight", ["origin", "destination", "date"], searchOnestopFlight),
  tool("send_certificate", ["user_id", "amount"], sendCertificate),
  tool("think", ["thought"], () => ""),
  tool("transfer_to_human_agents", ["summary"], () => "Transfer successful"),
  tool(
    "update_reservation_baggages",
    ["reservation_id", "total_baggages", "nonfree_baggages", "payment_id"],
    updateReservationBaggages,
  ),
  tool(
    "update_reservation_flights",
    ["reservation_id", "cabin", "flights", "payment_id"],
    updateReservationFlights,
  ),
  tool(
    "update_reservation_passengers",
    ["reservation_id", "passengers"],
    updateReservationPassengers,
  ),
];
