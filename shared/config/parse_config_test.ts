import assert from "node:assert/strict";
import { HelpRequested, parseConfig } from "@parlmt/config";

const SPEC = {
  port: { type: "integer", default: 50051, doc: "gRPC port", min: 0, max: 65535 },
  logLevel: {
    type: "string",
    default: "info",
    doc: "log level",
    choices: ["debug", "info", "warn", "error"],
  },
  maxSessions: { type: "integer", default: 100, doc: "session cap", min: 1 },
  verbose: { type: "boolean", default: false, doc: "more output" },
  tags: { type: "list", default: ["a"], doc: "tags" },
} as const;

Deno.test("parseConfig() applies defaults < file < env < flags", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/c.yaml`, "maxSessions: 7\nport: 1000\nlogLevel: warn\n");
    const env = { ENV_SIM_CONFIG: `${dir}/c.yaml`, ENV_SIM_PORT: "2000" };
    const c = parseConfig("env-sim", SPEC, ["--log-level", "debug", "--verbose"], env);
    assert.deepEqual({ ...c }, {
      port: 2000,
      logLevel: "debug",
      maxSessions: 7,
      verbose: true,
      tags: ["a"],
    });
    assert.ok(Object.isFrozen(c));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseConfig() rejects unknown flags, bad values and unknown file keys", () => {
  assert.throws(() => parseConfig("svc", SPEC, ["--nope", "1"], {}), /Cannot parse flags of svc/);
  assert.throws(
    () => parseConfig("svc", SPEC, ["--port", "70000"], {}),
    /Invalid value "70000" for --port: must be at most 65535/,
  );
  assert.throws(
    () => parseConfig("svc", SPEC, [], { SVC_MAX_SESSIONS: "1.5" }),
    /env SVC_MAX_SESSIONS: expected an integer/,
  );
  assert.throws(
    () => parseConfig("svc", SPEC, ["--log-level", "loud"], {}),
    /expected one of "debug", "info"/,
  );
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/c.json`, JSON.stringify({ prot: 1 }));
    assert.throws(
      () => parseConfig("svc", SPEC, ["--config", `${dir}/c.json`], {}),
      /Unknown key "prot"/,
    );
    assert.throws(
      () => parseConfig("svc", SPEC, ["--config", `${dir}/missing.json`], {}),
      /Cannot read config file/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseConfig() --help lists every field with flag, env name and default", () => {
  const err = assert.throws(() => parseConfig("svc", SPEC, ["--help"], {}), HelpRequested);
  void err;
  try {
    parseConfig("svc", SPEC, ["--help"], {});
  } catch (e) {
    const text = (e as Error).message;
    for (const flag of ["--port", "--log-level", "--max-sessions", "--verbose", "--tags"]) {
      assert.ok(text.includes(flag), flag);
    }
    assert.ok(text.includes("SVC_MAX_SESSIONS"));
  }
});

Deno.test("parseConfig() parses lists from env and flags", () => {
  const c = parseConfig("svc", SPEC, ["--tags", "x, y,z"], {});
  assert.deepEqual(c.tags, ["x", "y", "z"]);
});
