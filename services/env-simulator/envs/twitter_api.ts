/**
 * BFCL `TwitterAPI` (`posting_api.py`, docs/bfcl-spec.md §5.4). The mutable defaults of
 * `post_tweet` are shared per instance (the reference shares them per process).
 * @module
 */
import { pyAdd, PyDict, pyEquals, pyIter, pyTruthy, type PyValue } from "@parlmt/pycompat";
import {
  dict,
  type MethodDef,
  params,
  type ParamSpec,
  scenarioGet,
  StatefulEnv,
} from "./bfcl_env.ts";
import {
  append,
  contains,
  dictGet,
  fmt,
  getItem,
  intFromStr,
  key,
  lower,
  removeFirst,
  setItem,
} from "./_py_helpers.ts";

function defaultState(): PyDict {
  return dict(
    ["username", "john"],
    ["password", "john123"],
    ["authenticated", false],
    ["tweets", new PyDict()],
    ["comments", new PyDict()],
    ["retweets", new PyDict()],
    ["following_list", ["alice", "bob"]],
    ["tweet_counter", 0n],
  );
}

const notAuth = (what: string) =>
  dict(["error", `User not authenticated. Please authenticate before ${what}.`]);

/** A small Twitter-like service. */
export class TwitterAPI extends StatefulEnv<TwitterAPI> {
  /** The Python class name. */
  readonly className = "TwitterAPI";
  #postTweetParams: ParamSpec[] = params(["content"], ["tags", []], ["mentions", []]);

  protected methods(): Record<string, MethodDef<TwitterAPI>> {
    return METHODS;
  }

  protected create(): TwitterAPI {
    return new TwitterAPI();
  }

  protected override cloneExtra(copy: TwitterAPI): void {
    // The shared default lists may also appear inside tweets; keep that aliasing.
    const [tags, mentions] = [
      this.#postTweetParams[1]!.defaultValue!,
      this.#postTweetParams[2]!.defaultValue!,
    ];
    const found = new Map<PyValue, PyValue>();
    const walk = (a: PyValue, b: PyValue) => {
      if ((a === tags || a === mentions) && !found.has(a)) found.set(a, b);
      if (Array.isArray(a) && Array.isArray(b)) a.forEach((x, i) => walk(x, b[i]!));
      else if (a instanceof PyDict && b instanceof PyDict) {
        for (const [k, x] of a) walk(x, b.get(k)!);
      }
    };
    walk(this.attrs, copy.attrs);
    copy.#postTweetParams = params(
      ["content"],
      ["tags", found.get(tags) ?? [...(tags as PyValue[])]],
      ["mentions", found.get(mentions) ?? [...(mentions as PyValue[])]],
    );
  }

  override signature(name: string): readonly ParamSpec[] | undefined {
    return name === "post_tweet" ? this.#postTweetParams : super.signature(name);
  }

  loadScenario(scenario: PyDict, _longContext: boolean): void {
    this.attrs = new PyDict();
    for (const [k, v] of defaultState()) {
      let value = scenarioGet(scenario, k, v);
      if (k === "tweets" && value instanceof PyDict) {
        const converted = new PyDict();
        for (const [tk, tv] of value) {
          const n = typeof tk === "string" ? intFromStr(tk) : undefined;
          converted.set(n ?? tk, tv);
        }
        value = converted;
      }
      this.set(k as string, value);
    }
  }

  #auth(): boolean {
    return pyTruthy(this.get("authenticated"));
  }

  static authenticate(s: TwitterAPI, username: PyValue, password: PyValue): PyValue {
    if (pyEquals(username, s.get("username")) && pyEquals(password, s.get("password"))) {
      s.set("authenticated", true);
      return dict(["authentication_status", true]);
    }
    return dict(["authentication_status", false]);
  }

  static loginStatus(s: TwitterAPI): PyValue {
    return dict(["login_status", pyTruthy(s.get("authenticated"))]);
  }

  static post(s: TwitterAPI, content: PyValue, tags: PyValue, mentions: PyValue): PyValue {
    if (!s.#auth()) return notAuth("posting");
    const counter = s.get("tweet_counter");
    const tweet = dict(
      ["id", counter],
      ["username", s.get("username")],
      ["content", content],
      ["tags", tags],
      ["mentions", mentions],
    );
    setItem(s.get("tweets"), counter, tweet);
    s.set("tweet_counter", pyAdd(counter, 1n));
    return tweet;
  }

  static retweet(s: TwitterAPI, tweetId: PyValue): PyValue {
    if (!s.#auth()) return notAuth("retweeting");
    if (!contains(s.get("tweets"), tweetId)) {
      return dict(["error", `Tweet with ID ${fmt(tweetId)} not found.`]);
    }
    const retweets = s.get("retweets");
    const user = s.get("username");
    if (!contains(retweets, user)) setItem(retweets, user, []);
    const list = getItem(retweets, user);
    if (contains(list, tweetId)) return dict(["retweet_status", "Already retweeted"]);
    append(list, tweetId);
    return dict(["retweet_status", "Successfully retweeted"]);
  }

  static comment(s: TwitterAPI, tweetId: PyValue, content: PyValue): PyValue {
    if (!s.#auth()) return notAuth("commenting");
    if (!contains(s.get("tweets"), tweetId)) {
      return dict(["error", `Tweet with ID ${fmt(tweetId)} not found.`]);
    }
    const comments = s.get("comments");
    if (!contains(comments, tweetId)) setItem(comments, tweetId, []);
    append(getItem(comments, tweetId), dict(["username", s.get("username")], ["content", content]));
    return dict(["comment_status", "Comment added successfully"]);
  }

  static mention(s: TwitterAPI, tweetId: PyValue, names: PyValue): PyValue {
    if (!contains(s.get("tweets"), tweetId)) {
      return dict(["error", `Tweet with ID ${fmt(tweetId)} not found.`]);
    }
    const tweet = getItem(s.get("tweets"), tweetId);
    const mentions = getItem(tweet, "mentions");
    const items = [...pyIter(names)];
    for (const n of items) append(mentions, n);
    return dict(["mention_status", "Users mentioned successfully"]);
  }

  static follow(s: TwitterAPI, user: PyValue): PyValue {
    if (!s.#auth()) return notAuth("following");
    const list = s.get("following_list");
    if (contains(list, user)) return dict(["follow_status", false]);
    append(list, user);
    return dict(["follow_status", true]);
  }

  static unfollow(s: TwitterAPI, user: PyValue): PyValue {
    if (!s.#auth()) return notAuth("unfollowing");
    const list = s.get("following_list");
    if (!contains(list, user)) return dict(["unfollow_status", false]);
    removeFirst(list, user);
    return dict(["unfollow_status", true]);
  }

  static listFollowing(s: TwitterAPI): PyValue {
    if (!s.#auth()) return notAuth("listing following");
    return dict(["following_list", s.get("following_list")]);
  }

  static getTweet(s: TwitterAPI, tweetId: PyValue): PyValue {
    if (!contains(s.get("tweets"), tweetId)) {
      return dict(["error", `Tweet with ID ${fmt(tweetId)} not found.`]);
    }
    return getItem(s.get("tweets"), tweetId);
  }

  static #tweets(s: TwitterAPI): PyValue[] {
    const t = s.get("tweets");
    return t instanceof PyDict ? [...t.values()] : [];
  }

  static userTweets(s: TwitterAPI, username: PyValue): PyValue {
    return TwitterAPI.#tweets(s).filter((t) => pyEquals(getItem(t, "username"), username));
  }

  static search(s: TwitterAPI, keyword: PyValue): PyValue {
    return TwitterAPI.#tweets(s).filter((t) => {
      const kw = lower(keyword);
      if (lower(getItem(t, "content")).includes(kw)) return true;
      return [...pyIter(getItem(t, "tags"))].map((tag) => lower(tag)).includes(kw);
    });
  }

  static comments(s: TwitterAPI, tweetId: PyValue): PyValue {
    if (!contains(s.get("tweets"), tweetId)) {
      return dict(["error", `Tweet with ID ${fmt(tweetId)} not found.`]);
    }
    return dictGet(s.get("comments"), tweetId, []);
  }

  static stats(s: TwitterAPI, username: PyValue): PyValue {
    const tweetCount =
      TwitterAPI.#tweets(s).filter((t) => pyEquals(getItem(t, "username"), username)).length;
    const following = pyEquals(username, s.get("username"))
      ? (s.get("following_list") as PyValue[]).length
      : 0;
    const retweets = dictGet(s.get("retweets"), key(username), []);
    return dict(
      ["tweet_count", BigInt(tweetCount)],
      ["following_count", BigInt(following)],
      ["retweet_count", BigInt(Array.isArray(retweets) ? retweets.length : 0)],
    );
  }
}

const METHODS: Record<string, MethodDef<TwitterAPI>> = {
  authenticate_twitter: {
    params: params(["username"], ["password"]),
    impl: (s, a) => TwitterAPI.authenticate(s, a[0]!, a[1]!),
  },
  comment: {
    params: params(["tweet_id"], ["comment_content"]),
    impl: (s, a) => TwitterAPI.comment(s, a[0]!, a[1]!),
  },
  follow_user: {
    params: params(["username_to_follow"]),
    impl: (s, a) => TwitterAPI.follow(s, a[0]!),
  },
  get_tweet: { params: params(["tweet_id"]), impl: (s, a) => TwitterAPI.getTweet(s, a[0]!) },
  get_tweet_comments: {
    params: params(["tweet_id"]),
    impl: (s, a) => TwitterAPI.comments(s, a[0]!),
  },
  get_user_stats: { params: params(["username"]), impl: (s, a) => TwitterAPI.stats(s, a[0]!) },
  get_user_tweets: {
    params: params(["username"]),
    impl: (s, a) => TwitterAPI.userTweets(s, a[0]!),
  },
  list_all_following: { params: params(), impl: (s) => TwitterAPI.listFollowing(s) },
  mention: {
    params: params(["tweet_id"], ["mentioned_usernames"]),
    impl: (s, a) => TwitterAPI.mention(s, a[0]!, a[1]!),
  },
  post_tweet: {
    params: params(["content"], ["tags", []], ["mentions", []]),
    impl: (s, a) => TwitterAPI.post(s, a[0]!, a[1]!, a[2]!),
  },
  posting_get_login_status: { params: params(), impl: (s) => TwitterAPI.loginStatus(s) },
  retweet: { params: params(["tweet_id"]), impl: (s, a) => TwitterAPI.retweet(s, a[0]!) },
  search_tweets: { params: params(["keyword"]), impl: (s, a) => TwitterAPI.search(s, a[0]!) },
  unfollow_user: {
    params: params(["username_to_unfollow"]),
    impl: (s, a) => TwitterAPI.unfollow(s, a[0]!),
  },
};
