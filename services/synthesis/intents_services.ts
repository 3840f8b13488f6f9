/** Curriculum intents of TicketAPI, MessageAPI and TwitterAPI. */
import { field, type Intent, type IntentContext, numberText, q } from "./intent.ts";

function fact(ctx: IntentContext, key: string): string {
  const v = ctx.facts.get(key);
  if (v === undefined) throw new RangeError(`Cannot use fact "${key}": not known yet`);
  return v;
}

function ticketStep(
  id: string,
  verb: string,
  make: (t: string, ctx: IntentContext) => {
    call: string;
    slots: Record<string, string>;
    ask?: { slot: string; label: string };
  },
): Intent {
  return {
    id,
    cls: "TicketAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["ticket"],
    build(ctx) {
      const { call, slots, ask } = make(fact(ctx, "ticket"), ctx);
      ctx.run(call);
      if (verb === "close") ctx.facts.delete("ticket");
      return ask ? { slots, calls: [call], ask } : { slots, calls: [call] };
    },
  };
}

/** TicketAPI intents (the user is logged in). */
export const TICKET_INTENTS: readonly Intent[] = [
  {
    id: "ticket.create",
    cls: "TicketAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const title = `${ctx.draw("word")} ${ctx.draw("stem")}`;
      const priority = ctx.draw("priority");
      const call = `create_ticket(title=${q(title)}, priority=${priority})`;
      ctx.run(call);
      ctx.facts.set("ticket", numberText(ctx.lastText, "id"));
      return { slots: { title, priority }, calls: [call], ask: { slot: "title", label: "title" } };
    },
  },
  ticketStep("ticket.get", "get", (t) => ({ call: `get_ticket(ticket_id=${t})`, slots: {} })),
  ticketStep("ticket.priority", "edit", (t, ctx) => {
    const p = ctx.draw("priority");
    return {
      call: `edit_ticket(ticket_id=${t}, updates={'priority': ${p}})`,
      slots: { priority: p },
    };
  }),
  ticketStep("ticket.resolve", "resolve", (t, ctx) => {
    const text = `${ctx.draw("word")} fixed`;
    return {
      call: `resolve_ticket(ticket_id=${t}, resolution=${q(text)})`,
      slots: { text },
      ask: { slot: "text", label: "resolution" },
    };
  }),
  ticketStep("ticket.close", "close", (t) => ({ call: `close_ticket(ticket_id=${t})`, slots: {} })),
];

/** MessageAPI intents (the user is logged in; contacts are in the workspace). */
export const MESSAGE_INTENTS: readonly Intent[] = [
  {
    id: "msg.send",
    cls: "MessageAPI",
    maxCalls: 2,
    depth: 1,
    build(ctx) {
      const users = (ctx.facts.get("msgUsers") ?? "").split(",").filter(Boolean);
      const name = ctx.choice(users);
      const id = field(ctx.run(`get_user_id(user=${q(name)})`), "user_id") as string;
      const text = `${ctx.draw("word")} at ${ctx.int(1, 9)}`;
      ctx.run(`send_message(receiver_id=${q(id)}, message=${q(text)})`);
      ctx.facts.set("receiver", id);
      return {
        slots: { name, text },
        calls: [
          `get_user_id(user=${q(name)})`,
          `send_message(receiver_id=${q(id)}, message=${q(text)})`,
        ],
        ask: { slot: "text", label: "message" },
      };
    },
  },
  {
    id: "msg.add_send",
    cls: "MessageAPI",
    maxCalls: 2,
    depth: 1,
    build(ctx) {
      const taken = new Set((ctx.facts.get("msgUsers") ?? "").split(","));
      const name = ctx.draw("person", taken);
      if (taken.has(name)) throw new RangeError(`Cannot add "${name}": already a contact`);
      const id = field(ctx.run(`add_contact(user_name=${q(name)})`), "user_id") as string;
      const text = `${ctx.draw("word")} ${ctx.draw("word")}`;
      ctx.run(`send_message(receiver_id=${q(id)}, message=${q(text)})`);
      ctx.facts.set("receiver", id);
      ctx.facts.set("msgUsers", [...taken, name].filter(Boolean).join(","));
      return {
        slots: { name, text },
        calls: [
          `add_contact(user_name=${q(name)})`,
          `send_message(receiver_id=${q(id)}, message=${q(text)})`,
        ],
        ask: { slot: "text", label: "message" },
      };
    },
  },
  {
    id: "msg.delete",
    cls: "MessageAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["receiver"],
    build(ctx) {
      const call = `delete_message(receiver_id=${q(fact(ctx, "receiver"))})`;
      ctx.run(call);
      ctx.facts.delete("receiver");
      return { slots: {}, calls: [call] };
    },
  },
  {
    id: "msg.stats",
    cls: "MessageAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      ctx.run("get_message_stats()");
      return { slots: {}, calls: ["get_message_stats()"] };
    },
  },
];

/** TwitterAPI intents (the user is authenticated). */
export const TWITTER_INTENTS: readonly Intent[] = [
  {
    id: "tw.post",
    cls: "TwitterAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const text = `${ctx.draw("word")} ${ctx.draw("word")} day`;
      const tag = ctx.draw("word");
      const call = `post_tweet(content=${q(text)}, tags=[${q("#" + tag)}])`;
      ctx.run(call);
      ctx.facts.set("tweet", numberText(ctx.lastText, "id"));
      return { slots: { text, tag }, calls: [call], ask: { slot: "text", label: "text" } };
    },
  },
  {
    id: "tw.comment",
    cls: "TwitterAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["tweet"],
    build(ctx) {
      const text = `so ${ctx.draw("word")}`;
      const call = `comment(tweet_id=${fact(ctx, "tweet")}, comment_content=${q(text)})`;
      ctx.run(call);
      return { slots: { text }, calls: [call], ask: { slot: "text", label: "comment" } };
    },
  },
  {
    id: "tw.mention",
    cls: "TwitterAPI",
    maxCalls: 1,
    depth: 1,
    needs: ["tweet"],
    build(ctx) {
      const handle = ctx.draw("handle");
      const call = `mention(tweet_id=${fact(ctx, "tweet")}, mentioned_usernames=[${q(handle)}])`;
      ctx.run(call);
      return { slots: { handle }, calls: [call], ask: { slot: "handle", label: "user" } };
    },
  },
  {
    id: "tw.search_retweet",
    cls: "TwitterAPI",
    maxCalls: 2,
    depth: 1,
    build(ctx) {
      const keyword = ctx.facts.get("tweetWord");
      if (!keyword) throw new RangeError("Cannot search: no seeded tweet word");
      ctx.run(`search_tweets(keyword=${q(keyword)})`);
      const found = [...ctx.lastText.matchAll(/'id': (\d+)/g)].map((m) => m[1]!);
      if (found.length !== 1) {
        throw new RangeError(`Cannot retweet: "${keyword}" does not find exactly one tweet`);
      }
      const call = `retweet(tweet_id=${found[0]})`;
      ctx.run(call);
      ctx.facts.delete("tweetWord");
      return { slots: { keyword }, calls: [`search_tweets(keyword=${q(keyword)})`, call] };
    },
  },
  {
    id: "tw.follow",
    cls: "TwitterAPI",
    maxCalls: 1,
    depth: 0,
    build(ctx) {
      const handle = ctx.draw("handle");
      const call = `follow_user(username_to_follow=${q(handle)})`;
      ctx.run(call);
      return { slots: { handle }, calls: [call], ask: { slot: "handle", label: "user" } };
    },
  },
];
