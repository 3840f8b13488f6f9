/** policy-inference configuration. */
import type { ConfigOf } from "@parlmt/config";
import { commonFields } from "@parlmt/service";

/** Every field, with its default and doc (flags, env names and --help derive from these). */
export const POLICY_CONFIG_SPEC = {
  ...commonFields({ port: 50053, adminPort: 9103 }),
  natsUrl: {
    type: "string",
    default: "nats://127.0.0.1:4222",
    doc: "NATS server(s) of the weights bus (empty: do not subscribe)",
  },
  modelId: { type: "string", default: "parlmt-policy", doc: "Id of the served model" },
} as const;

/** The resolved configuration. */
export type PolicyConfig = ConfigOf<typeof POLICY_CONFIG_SPEC>;
