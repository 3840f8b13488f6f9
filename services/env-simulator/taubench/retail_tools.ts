/**
 * The 16 tools of the v1 retail domain, in `ALL_TOOLS` order, with the reference's checks,
 * mutation order, outputs and Python semantics on agent-supplied values (see QUIRKS.md).
 * @module
 */
import {
  pyAbs,
  pyContains,
  pyDeepCopy,
  PyDict,
  pyEquals,
  PyError,
  pyGt,
  pyIter,
  pyJsonDumps,
  pyLen,
  pyLt,
  pyRound,
  pyStr,
  pySub,
  pyTruthy,
  type PyValue,
  requireStr,
} from "@parlmt/pycompat";
import { count, getDict, getItem, iadd, inDict, isub, ne, sorted, zip } from "./_py.ts";
import { calculate } from "./calculate.ts";
import type { TauDb } from "./db.ts";
import { tool, type ToolDef } from "./tool.ts";

const CALC_CHARS = "0123456789+-*/(). ";

/** The shared `calculate` tool (both domains). */
export function calculateTool(expression: PyValue): string {
  if (typeof expression === "string") return calculate(expression);
  // `all(char in "0123..." for char in expression)` on a non-str, then `eval()` rejects it.
  for (const ch of pyIter(expression)) {
    if (!pyContains(CALC_CHARS, ch)) return "Error: invalid characters in expression";
  }
  return "Error: eval() arg 1 must be a string, bytes or code object";
}

const ADDRESS_KEYS = ["address1", "address2", "city", "state", "country", "zip"] as const;

function address(args: PyValue[]): PyDict {
  return new PyDict(ADDRESS_KEYS.map((k, i) => [k, args[i]!] as const));
}

function lower(v: PyValue): string {
  return requireStr(v, "lower").toLowerCase();
}

/** `[item["item_id"] for item in order["items"]]` */
function itemIds(order: PyDict): PyValue[] {
  return (order.get("items") as PyValue[]).map((it) => getItem(it, "item_id"));
}

/** `[item for item in order["items"] if item["item_id"] == item_id][0]` */
function firstItem(order: PyDict, itemId: PyValue): PyDict {
  const item = (order.get("items") as PyDict[]).find((it) => pyEquals(it.get("item_id"), itemId));
  if (item === undefined) throw new PyError("IndexError", "list index out of range");
  return item;
}

/** Returns the error text, or `undefined` when every `item_ids` entry is in the order. */
function checkItemCounts(
  itemIdsArg: PyValue,
  all: PyValue[],
  message?: string,
): string | undefined {
  for (const id of pyIter(itemIdsArg)) {
    if (count(itemIdsArg, id) > count(all, id)) return message ?? `Error: ${pyStr(id)} not found`;
  }
  return undefined;
}

/**
 * The item loop shared by exchange and modify: checks every new item and sums the price
 * difference from int 0, in argument order. Returns the error text or the difference.
 */
function priceDifference(
  db: TauDb,
  order: PyDict,
  itemIdsArg: PyValue,
  newItemIds: PyValue,
): { error: string } | { diff: PyValue } {
  const products = db.table("products");
  let diff: PyValue = 0n;
  for (const [itemId, newItemId] of zip(itemIdsArg, newItemIds)) {
    const item = firstItem(order, itemId);
    const variants = getDict(getItem(products, item.get("product_id")!), "variants");
    if (
      !(inDict(variants, newItemId) && pyTruthy(getItem(getItem(variants, newItemId), "available")))
    ) {
      return { error: `Error: new item ${pyStr(newItemId)} not found or available` };
    }
    const oldPrice = getItem(item, "price");
    const newPrice = getItem(getItem(variants, newItemId), "price");
    diff = iadd(diff, pySub(newPrice, oldPrice));
  }
  return { diff };
}

function paymentMethods(db: TauDb, order: PyDict): PyDict {
  return getDict(getItem(db.table("users"), order.get("user_id")!), "payment_methods");
}

function isGiftCard(pm: PyValue): boolean {
  return pyEquals(getItem(pm, "source"), "gift_card");
}

/** The order `data["orders"][order_id]`, or the error text when it is missing. */
function findOrder(db: TauDb, orderId: PyValue): PyDict | string {
  const orders = db.table("orders");
  if (!inDict(orders, orderId)) return "Error: order not found";
  return getDict(orders, orderId);
}

function cancelPendingOrder(db: TauDb, [orderId, reason]: PyValue[]): string {
  const found = findOrder(db, orderId!);
  if (typeof found === "string") return found;
  if (ne(found.get("status")!, "pending")) return "Error: non-pending order cannot be cancelled";
  if (!["no longer needed", "ordered by mistake"].some((r) => pyEquals(r, reason!))) {
    return "Error: invalid reason";
  }
  const order = db.writable("orders", orderId as string);
  const history = order.get("payment_history") as PyValue[];
  const refunds: PyValue[] = [];
  for (const payment of history) {
    const paymentId = getItem(payment, "payment_method_id");
    refunds.push(
      new PyDict([
        ["transaction_type", "refund"],
        ["amount", getItem(payment, "amount")],
        ["payment_method_id", paymentId],
      ]),
    );
    if (pyContains(paymentId, "gift_card")) {
      const user = db.writable("users", order.get("user_id") as string);
      const pm = getDict(getItem(user, "payment_methods"), paymentId);
      pm.set("balance", iadd(getItem(pm, "balance"), getItem(payment, "amount")));
      pm.set("balance", pyRound(pm.get("balance")!, 2n));
    }
  }
  order.set("status", "cancelled");
  order.set("cancel_reason", reason!);
  history.push(...refunds);
  return pyJsonDumps(order);
}

function exchangeDeliveredOrderItems(
  db: TauDb,
  [orderId, itemIdsArg, newItemIds, paymentMethodId]: PyValue[],
): string {
  const found = findOrder(db, orderId!);
  if (typeof found === "string") return found;
  if (ne(found.get("status")!, "delivered")) {
    return "Error: non-delivered order cannot be exchanged";
  }
  const missing = checkItemCounts(itemIdsArg!, itemIds(found));
  if (missing !== undefined) return missing;
  if (pyLen(itemIdsArg!) !== pyLen(newItemIds!)) {
    return "Error: the number of items to be exchanged should match";
  }
  const priced = priceDifference(db, found, itemIdsArg!, newItemIds!);
  if ("error" in priced) return priced.error;
  const diff = pyRound(priced.diff, 2n);
  const pms = paymentMethods(db, found);
  if (!inDict(pms, paymentMethodId!)) return "Error: payment method not found";
  const pm = getItem(pms, paymentMethodId!);
  if (isGiftCard(pm) && pyLt(getItem(pm, "balance"), diff)) {
    return "Error: insufficient gift card balance to pay for the price difference";
  }
  const order = db.writable("orders", orderId as string);
  order.set("status", "exchange requested");
  order.set("exchange_items", sorted(itemIdsArg!));
  order.set("exchange_new_items", sorted(newItemIds!));
  order.set("exchange_payment_method_id", paymentMethodId!);
  order.set("exchange_price_difference", diff);
  return pyJsonDumps(order);
}

function findUserIdByEmail(db: TauDb, [email]: PyValue[]): string {
  for (const [userId, profile] of db.table("users")) {
    if (lower(getItem(profile, "email")) === lower(email!)) return userId as string;
  }
  return "Error: user not found";
}

function findUserIdByNameZip(db: TauDb, [firstName, lastName, zip]: PyValue[]): string {
  for (const [userId, profile] of db.table("users")) {
    const name = getItem(profile, "name");
    if (
      lower(getItem(name, "first_name")) === lower(firstName!) &&
      lower(getItem(name, "last_name")) === lower(lastName!) &&
      pyEquals(getItem(getItem(profile, "address"), "zip"), zip!)
    ) return userId as string;
  }
  return "Error: user not found";
}

function getDetails(table: string, what: string) {
  return (db: TauDb, [id]: PyValue[]): string => {
    const t = db.table(table);
    if (inDict(t, id!)) return pyJsonDumps(getItem(t, id!));
    return `Error: ${what} not found`;
  };
}

function listAllProductTypes(db: TauDb): string {
  const byName = new PyDict();
  for (const product of db.table("products").values()) {
    byName.set(getItem(product, "name") as string, getItem(product, "product_id"));
  }
  const entries = [...byName.entries()].sort((
    a,
    b,
  ) => (pyLt(a[0], b[0]) ? -1 : pyGt(a[0], b[0]) ? 1 : 0));
  return pyJsonDumps(new PyDict(entries));
}

function modifyPendingOrderAddress(db: TauDb, [orderId, ...addr]: PyValue[]): string {
  const found = findOrder(db, orderId!);
  if (typeof found === "string") return found;
  if (ne(found.get("status")!, "pending")) return "Error: non-pending order cannot be modified";
  const order = db.writable("orders", orderId as string);
  order.set("address", address(addr));
  return pyJsonDumps(order);
}

function modifyPendingOrderItems(
  db: TauDb,
  [orderId, itemIdsArg, newItemIds, paymentMethodId]: PyValue[],
): string {
  const found = findOrder(db, orderId!);
  if (typeof found === "string") return found;
  if (ne(found.get("status")!, "pending")) return "Error: non-pending order cannot be modified";
  const missing = checkItemCounts(itemIdsArg!, itemIds(found));
  if (missing !== undefined) return missing;
  if (pyLen(itemIdsArg!) !== pyLen(newItemIds!)) {
    return "Error: the number of items to be exchanged should match";
  }
  const priced = priceDifference(db, found, itemIdsArg!, newItemIds!);
  if ("error" in priced) return priced.error;
  const diff = priced.diff;
  const pms = paymentMethods(db, found);
  if (!inDict(pms, paymentMethodId!)) return "Error: payment method not found";
  if (
    isGiftCard(getItem(pms, paymentMethodId!)) &&
    pyLt(getItem(getItem(pms, paymentMethodId!), "balance"), diff)
  ) {
    return "Error: insufficient gift card balance to pay for the new item";
  }
  const order = db.writable("orders", orderId as string);
  (order.get("payment_history") as PyValue[]).push(
    new PyDict([
      ["transaction_type", pyGt(diff, 0n) ? "payment" : "refund"],
      ["amount", pyAbs(diff)],
      ["payment_method_id", paymentMethodId!],
    ]),
  );
  if (isGiftCard(getItem(pms, paymentMethodId!))) {
    const user = db.writable("users", order.get("user_id") as string);
    const pm = getDict(getItem(user, "payment_methods"), paymentMethodId!);
    pm.set("balance", isub(getItem(pm, "balance"), diff));
    pm.set("balance", pyRound(pm.get("balance")!, 2n));
  }
  const products = db.table("products");
  for (const [itemId, newItemId] of zip(itemIdsArg!, newItemIds!)) {
    const item = firstItem(order, itemId);
    const variant = getItem(
      getItem(getItem(products, item.get("product_id")!), "variants"),
      newItemId,
    );
    item.set("item_id", newItemId);
    item.set("price", getItem(variant, "price"));
    item.set("options", pyDeepCopy(getItem(variant, "options")));
  }
  order.set("status", "pending (item modified)");
  return pyJsonDumps(order);
}

function modifyPendingOrderPayment(db: TauDb, [orderId, paymentMethodId]: PyValue[]): string {
  const found = findOrder(db, orderId!);
  if (typeof found === "string") return found;
  if (ne(found.get("status")!, "pending")) return "Error: non-pending order cannot be modified";
  const pms = paymentMethods(db, found);
  if (!inDict(pms, paymentMethodId!)) return "Error: payment method not found";
  const history = found.get("payment_history") as PyValue[];
  if (history.length > 1 || ne(getItem(getItem(history, 0n), "transaction_type"), "payment")) {
    return "Error: there should be exactly one payment for a pending order";
  }
  const first = getItem(history, 0n);
  if (pyEquals(getItem(first, "payment_method_id"), paymentMethodId!)) {
    return "Error: the new payment method should be different from the current one";
  }
  const amount = getItem(first, "amount");
  if (
    isGiftCard(getItem(pms, paymentMethodId!)) &&
    pyLt(getItem(getItem(pms, paymentMethodId!), "balance"), amount)
  ) {
    return "Error: insufficient gift card balance to pay for the order";
  }
  const oldId = getItem(first, "payment_method_id");
  const order = db.writable("orders", orderId as string);
  (order.get("payment_history") as PyValue[]).push(
    new PyDict([["transaction_type", "payment"], ["amount", amount], [
      "payment_method_id",
      paymentMethodId!,
    ]]),
    new PyDict([["transaction_type", "refund"], ["amount", amount], ["payment_method_id", oldId]]),
  );
  if (isGiftCard(getItem(pms, paymentMethodId!))) {
    const pm = getDict(
      getItem(db.writable("users", order.get("user_id") as string), "payment_methods"),
      paymentMethodId!,
    );
    pm.set("balance", isub(getItem(pm, "balance"), amount));
    pm.set("balance", pyRound(pm.get("balance")!, 2n));
  }
  if (pyContains(oldId, "gift_card")) {
    const pm = getDict(
      getItem(db.writable("users", order.get("user_id") as string), "payment_methods"),
      oldId,
    );
    pm.set("balance", iadd(getItem(pm, "balance"), amount));
    pm.set("balance", pyRound(pm.get("balance")!, 2n));
  }
  return pyJsonDumps(order);
}

function modifyUserAddress(db: TauDb, [userId, ...addr]: PyValue[]): string {
  if (!inDict(db.table("users"), userId!)) return "Error: user not found";
  const user = db.writable("users", userId as string);
  user.set("address", address(addr));
  return pyJsonDumps(user);
}

function returnDeliveredOrderItems(
  db: TauDb,
  [orderId, itemIdsArg, paymentMethodId]: PyValue[],
): string {
  const found = findOrder(db, orderId!);
  if (typeof found === "string") return found;
  if (ne(found.get("status")!, "delivered")) return "Error: non-delivered order cannot be returned";
  if (!inDict(paymentMethods(db, found), paymentMethodId!)) {
    return "Error: payment method not found";
  }
  const history = found.get("payment_history") as PyValue[];
  if (
    !pyContains(paymentMethodId!, "gift_card") &&
    ne(paymentMethodId!, getItem(getItem(history, 0n), "payment_method_id"))
  ) {
    return "Error: payment method should be either the original payment method or a gift card";
  }
  const missing = checkItemCounts(itemIdsArg!, itemIds(found), "Error: some item not found");
  if (missing !== undefined) return missing;
  const returnItems = sorted(itemIdsArg!);
  const order = db.writable("orders", orderId as string);
  order.set("status", "return requested");
  order.set("return_items", returnItems);
  order.set("return_payment_method_id", paymentMethodId!);
  return pyJsonDumps(order);
}

/** The retail tools in the reference's `ALL_TOOLS` order. */
export const RETAIL_TOOLS: readonly ToolDef[] = [
  tool("calculate", ["expression"], (_db, [e]) => calculateTool(e!)),
  tool("cancel_pending_order", ["order_id", "reason"], cancelPendingOrder),
  tool(
    "exchange_delivered_order_items",
    ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
    exchangeDeliveredOrderItems,
  ),
  tool("find_user_id_by_email", ["email"], findUserIdByEmail),
  tool("find_user_id_by_name_zip", ["first_name", "last_name", "zip"], findUserIdByNameZip),
  tool("get_order_details", ["order_id"], getDetails("orders", "order")),
  tool("get_product_details", ["product_id"], getDetails("products", "product")),
  tool("get_user_details", ["user_id"], getDetails("users", "user")),
  tool("list_all_product_types", [], listAllProductTypes),
  tool("modify_pending_order_address", ["order_id", ...ADDRESS_KEYS], modifyPendingOrderAddress),
  tool(
    "modify_pending_order_items",
    ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
    modifyPendingOrderItems,
  ),
  tool(
    "modify_pending_order_payment",
    ["order_id", "payment_method_id"],
    modifyPendingOrderPayment,
  ),
  tool("modify_user_address", ["user_id", ...ADDRESS_KEYS], modifyUserAddress),
  tool(
    "return_delivered_order_items",
    ["order_id", "item_ids", "payment_method_id"],
    returnDeliveredOrderItems,
  ),
  tool("think", ["thought"], () => ""),
  tool("transfer_to_human_agents", ["summary"], () => "Transfer successful"),
];
