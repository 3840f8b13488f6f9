/**
 * BFCL `MessageAPI` (docs/bfcl-spec.md §5.3).
 * @module
 */
import { pyAdd, PyDict, pyEquals, PyRandom, PySet, pyTruthy, type PyValue } from "@parlmt/pycompat";
import { dict, type MethodDef, params, scenarioGet, StatefulEnv } from "./bfcl_env.ts";
import {
  append,
  contains,
  dictGet,
  firstItem,
  fmt,
  key,
  lower,
  removeFirst,
  setItem,
} from "./_py_helpers.ts";

function defaultState(): PyDict {
  return dict(
    ["generated_ids", new PySet()],
    ["user_count", 4n],
    [
      "user_map",
      dict(["Alice", "USR001"], ["Bob", "USR002"], ["Catherine", "USR003"], ["Daniel", "USR004"]),
    ],
    ["inbox", [
      dict(["USR002", "My name is Alice. I want to connect."]),
      dict(["USR003", "Could you upload the file?"]),
      dict(["USR004", "Could you upload the file?"]),
    ]],
    ["message_count", 3n],
    ["current_user", null],
  );
}

function zfill(s: string, width: number): string {
  const sign = s.startsWith("-") || s.startsWith("+") ? s[0]! : "";
  const body = sign ? s.slice(1) : s;
  return sign + body.padStart(width - sign.length, "0");
}

const NOT_LOGGED_IN = () => dict(["error", "No user is currently logged in."]);

/** A workspace messaging system. */
export class MessageAPI extends StatefulEnv<MessageAPI> {
  /** The Python class name. */
  readonly className = "MessageAPI";

  protected methods(): Record<string, MethodDef<MessageAPI>> {
    return METHODS;
  }

  protected create(): MessageAPI {
    return new MessageAPI();
  }

  loadScenario(scenario: PyDict, _longContext: boolean): void {
    const d = defaultState();
    const seed = scenarioGet(scenario, "random_seed", 200191n);
    this.random = new PyRandom(typeof seed === "bigint" ? seed : 200191n);
    this.attrs = new PyDict();
    for (const [k, v] of d) this.set(k as string, scenarioGet(scenario, k, v));
  }

  #loggedIn(): boolean {
    return pyTruthy(this.get("current_user"));
  }

  #userIds(): PyValue[] {
    const m = this.get("user_map");
    return m instanceof PyDict ? [...m.values()] : [];
  }

  static listUsers(s: MessageAPI): PyValue {
    const m = s.get("user_map");
    return dict(["user_list", m instanceof PyDict ? [...m.keys()] as PyValue[] : []]);
  }

  static getUserId(s: MessageAPI, user: PyValue): PyValue {
    if (!contains(s.get("user_map"), user)) {
      return dict(["error", `User '${fmt(user)}' not found in the workspace.`]);
    }
    return dict(["user_id", dictGet(s.get("user_map"), user)]);
  }

  static login(s: MessageAPI, userId: PyValue): PyValue {
    if (!contains(s.#userIds(), userId)) {
      return dict(["login_status", false], ["message", `User ID '${fmt(userId)}' not found.`]);
    }
    s.set("current_user", userId);
    return dict(["login_status", true], [
      "message",
      `User '${fmt(userId)}' logged in successfully.`,
    ]);
  }

  static send(s: MessageAPI, receiverId: PyValue, message: PyValue): PyValue {
    if (!s.#loggedIn()) return NOT_LOGGED_IN();
    if (!contains(s.#userIds(), receiverId)) {
      return dict(["error", `Receiver ID '${fmt(receiverId)}' not found.`]);
    }
    const ids = s.get("generated_ids");
    let id = s.rng().randint(10000, 99999);
    while (contains(ids, id)) id = s.rng().randint(10000, 99999);
    if (!(ids instanceof PySet)) throw new TypeError("generated_ids is not a set");
    ids.add(id);
    append(s.get("inbox"), dict([key(receiverId), message]));
    s.set("message_count", pyAdd(s.get("message_count"), 1n));
    return dict(
      ["sent_status", true],
      ["message_id", dict(["new_id", id])],
      ["message", `Message sent to '${fmt(receiverId)}' successfully.`],
    );
  }

  static delete(s: MessageAPI, receiverId: PyValue): PyValue {
    if (!s.#loggedIn()) return NOT_LOGGED_IN();
    const inbox = s.get("inbox");
    if (Array.isArray(inbox)) {
      for (const message of [...inbox].reverse()) {
        const [receiver] = firstItem(message);
        if (pyEquals(receiver, receiverId)) {
          removeFirst(inbox, message);
          return dict(
            ["deleted_status", true],
            ["receiver_id", receiver],
            ["message", `Receiver ${fmt(receiverId)}'s latest message deleted successfully.`],
          );
        }
      }
    }
    return dict(["error", `Receiver ID ${fmt(receiverId)} not found.`]);
  }

  static viewSent(s: MessageAPI): PyValue {
    if (!s.#loggedIn()) return NOT_LOGGED_IN();
    const grouped = new PyDict();
    for (const message of (s.get("inbox") as PyValue[])) {
      const [receiver, content] = firstItem(message);
      const list = grouped.get(receiver);
      if (Array.isArray(list)) list.push(content);
      else grouped.set(receiver, [content]);
    }
    return dict(["messages", grouped]);
  }

  static addContact(s: MessageAPI, userName: PyValue): PyValue {
    if (contains(s.get("user_map"), userName)) {
      return dict(["error", `User name '${fmt(userName)}' already exists.`]);
    }
    const count = pyAdd(s.get("user_count"), 1n);
    s.set("user_count", count);
    const userId = `USR${zfill(fmt(count), 3)}`;
    if (contains(s.#userIds(), userId)) {
      return dict(["error", `User ID '${userId}' already exists.`]);
    }
    setItem(s.get("user_map"), userName, userId);
    return dict(
      ["added_status", true],
      ["user_id", userId],
      ["message", `Contact '${fmt(userName)}' added successfully.`],
    );
  }

  static search(s: MessageAPI, keyword: PyValue): PyValue {
    if (!s.#loggedIn()) return NOT_LOGGED_IN();
    const kw = lower(keyword);
    const results: PyValue[] = [];
    for (const message of (s.get("inbox") as PyValue[])) {
      const [receiver, content] = firstItem(message);
      if (lower(content).includes(kw)) {
        results.push(dict(["receiver_id", receiver], ["message", content]));
      }
    }
    return dict(["results", results]);
  }

  static stats(s: MessageAPI): PyValue {
    if (!s.#loggedIn()) return NOT_LOGGED_IN();
    const inbox = s.get("inbox") as PyValue[];
    const contacts = new PySet();
    for (const message of inbox) contacts.add(firstItem(message)[0]);
    return dict([
      "stats",
      dict(["received_count", BigInt(inbox.length)], ["total_contacts", BigInt(contacts.size)]),
    ]);
  }
}

const METHODS: Record<string, MethodDef<MessageAPI>> = {
  add_contact: { params: params(["user_name"]), impl: (s, a) => MessageAPI.addContact(s, a[0]!) },
  delete_message: { params: params(["receiver_id"]), impl: (s, a) => MessageAPI.delete(s, a[0]!) },
  get_message_stats: { params: params(), impl: (s) => MessageAPI.stats(s) },
  get_user_id: { params: params(["user"]), impl: (s, a) => MessageAPI.getUserId(s, a[0]!) },
  list_users: { params: params(), impl: (s) => MessageAPI.listUsers(s) },
  message_get_login_status: {
    params: params(),
    impl: (s) =>
      dict([
        "login_status",
        pyTruthy((s as unknown as { get(n: string): PyValue }).get("current_user")),
      ]),
  },
  message_login: { params: params(["user_id"]), impl: (s, a) => MessageAPI.login(s, a[0]!) },
  search_messages: { params: params(["keyword"]), impl: (s, a) => MessageAPI.search(s, a[0]!) },
  send_message: {
    params: params(["receiver_id"], ["message"]),
    impl: (s, a) => MessageAPI.send(s, a[0]!, a[1]!),
  },
  view_messages_sent: { params: params(), impl: (s) => MessageAPI.viewSent(s) },
};
