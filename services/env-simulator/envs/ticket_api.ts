/**
 * BFCL `TicketAPI` (docs/bfcl-spec.md §5.5).
 * @module
 */
import {
  pyAdd,
  PyDict,
  pyEquals,
  PyError,
  pyGt,
  pyLt,
  pyTruthy,
  pyTypeName,
  type PyValue,
} from "@parlmt/pycompat";
import { dict, type MethodDef, params, scenarioGet, StatefulEnv } from "./bfcl_env.ts";
import { append, fmt, getItem, key, lower, setItem } from "./_py_helpers.ts";

const VALID_FIELDS = ["title", "description", "status", "priority"];

/** A support-ticket system. */
export class TicketAPI extends StatefulEnv<TicketAPI> {
  /** The Python class name. */
  readonly className = "TicketAPI";

  protected methods(): Record<string, MethodDef<TicketAPI>> {
    return METHODS;
  }

  protected create(): TicketAPI {
    return new TicketAPI();
  }

  loadScenario(scenario: PyDict, _longContext: boolean): void {
    this.attrs = new PyDict();
    this.set("ticket_queue", scenarioGet(scenario, "ticket_queue", []));
    this.set("ticket_counter", scenarioGet(scenario, "ticket_counter", 1n));
    this.set("current_user", scenarioGet(scenario, "current_user", null));
  }

  #find(ticketId: PyValue): PyValue {
    for (const t of this.get("ticket_queue") as PyValue[]) {
      if (pyEquals(getItem(t, "id"), ticketId)) return t;
    }
    return null;
  }

  static create(s: TicketAPI, title: PyValue, description: PyValue, priority: PyValue): PyValue {
    if (!pyTruthy(s.get("current_user"))) {
      return dict(["error", "User not authenticated. Please log in to create a ticket."]);
    }
    if (pyLt(priority, 1n) || pyGt(priority, 5n)) {
      return dict(["error", "Invalid priority. Priority must be between 1 and 5."]);
    }
    const ticket = dict(
      ["id", s.get("ticket_counter")],
      ["title", title],
      ["description", description],
      ["status", "Open"],
      ["priority", priority],
      ["created_by", s.get("current_user")],
    );
    append(s.get("ticket_queue"), ticket);
    s.set("ticket_counter", pyAdd(s.get("ticket_counter"), 1n));
    return ticket;
  }

  static get_(s: TicketAPI, id: PyValue): PyValue {
    const t = s.#find(id);
    if (!pyTruthy(t)) return dict(["error", `Ticket with ID ${fmt(id)} not found.`]);
    return t;
  }

  static setStatus(
    s: TicketAPI,
    id: PyValue,
    status: "Closed" | "Resolved",
    resolution?: PyValue,
  ): PyValue {
    const t = s.#find(id);
    if (!pyTruthy(t)) return dict(["error", `Ticket with ID ${fmt(id)} not found.`]);
    const verb = status === "Closed" ? "closed" : "resolved";
    if (pyEquals(getItem(t, "status"), status)) {
      return dict(["error", `Ticket with ID ${fmt(id)} is already ${verb}.`]);
    }
    setItem(t, "status", status);
    if (resolution !== undefined) setItem(t, "resolution", resolution);
    return dict(["status", `Ticket ${fmt(id)} has been ${verb} successfully.`]);
  }

  static edit(s: TicketAPI, id: PyValue, updates: PyValue): PyValue {
    const t = s.#find(id);
    if (!pyTruthy(t)) return dict(["error", `Ticket with ID ${fmt(id)} not found.`]);
    if (!(updates instanceof PyDict)) {
      throw new PyError(
        "AttributeError",
        `'${pyTypeName(updates)}' object has no attribute 'keys'`,
      );
    }
    const invalid = [...updates.keys()].filter((k) => !VALID_FIELDS.includes(k as string));
    if (invalid.length > 0) {
      return dict([
        "error",
        `Invalid fields for update: ${invalid.map((k) => fmt(k)).join(", ")}`,
      ]);
    }
    for (const [k, v] of updates) if (v !== null) setItem(t, key(k), v);
    return dict(["status", `Ticket ${fmt(id)} has been updated successfully.`]);
  }

  static login(s: TicketAPI, username: PyValue, password: PyValue): PyValue {
    if (pyTruthy(username) && pyTruthy(password)) {
      s.set("current_user", username);
      return dict(["success", true]);
    }
    return dict(["success", false]);
  }

  static logout(s: TicketAPI): PyValue {
    if (pyTruthy(s.get("current_user"))) {
      s.set("current_user", null);
      return dict(["success", true]);
    }
    return dict(["success", false]);
  }

  static status(s: TicketAPI): PyValue {
    return dict(["login_status", pyTruthy(s.get("current_user"))]);
  }

  static userTickets(s: TicketAPI, status: PyValue): PyValue {
    if (!pyTruthy(s.get("current_user"))) {
      return [dict(["error", "User not authenticated. Please log in to view tickets."])];
    }
    let tickets = (s.get("ticket_queue") as PyValue[]).filter((t) =>
      pyEquals(getItem(t, "created_by"), s.get("current_user"))
    );
    if (pyTruthy(status)) {
      tickets = tickets.filter((t) => lower(getItem(t, "status")) === lower(status));
    }
    return tickets;
  }
}

const METHODS: Record<string, MethodDef<TicketAPI>> = {
  close_ticket: {
    params: params(["ticket_id"]),
    impl: (s, a) => TicketAPI.setStatus(s, a[0]!, "Closed"),
  },
  create_ticket: {
    params: params(["title"], ["description", ""], ["priority", 1n]),
    impl: (s, a) => TicketAPI.create(s, a[0]!, a[1]!, a[2]!),
  },
  edit_ticket: {
    params: params(["ticket_id"], ["updates"]),
    impl: (s, a) => TicketAPI.edit(s, a[0]!, a[1]!),
  },
  get_ticket: { params: params(["ticket_id"]), impl: (s, a) => TicketAPI.get_(s, a[0]!) },
  get_user_tickets: {
    params: params(["status", null]),
    impl: (s, a) => TicketAPI.userTickets(s, a[0]!),
  },
  logout: { params: params(), impl: (s) => TicketAPI.logout(s) },
  resolve_ticket: {
    params: params(["ticket_id"], ["resolution"]),
    impl: (s, a) => TicketAPI.setStatus(s, a[0]!, "Resolved", a[1]!),
  },
  ticket_get_login_status: { params: params(), impl: (s) => TicketAPI.status(s) },
  ticket_login: {
    params: params(["username"], ["password"]),
    impl: (s, a) => TicketAPI.login(s, a[0]!, a[1]!),
  },
};
