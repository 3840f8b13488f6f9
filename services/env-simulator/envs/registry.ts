/**
 * The class-name → implementation map of the BFCL environments.
 * @module
 */
import type { BfclEnv } from "./bfcl_env.ts";
import { GorillaFileSystem } from "./gorilla_file_system.ts";
import { MathAPI } from "./math_api.ts";
import { MessageAPI } from "./message_api.ts";
import { TicketAPI } from "./ticket_api.ts";
import { TradingBot } from "./trading_bot.ts";
import { TravelAPI } from "./travel_api.ts";
import { TwitterAPI } from "./twitter_api.ts";
import { VehicleControlAPI } from "./vehicle_control_api.ts";

const FACTORIES: Readonly<Record<string, () => BfclEnv>> = {
  GorillaFileSystem: () => new GorillaFileSystem(),
  MathAPI: () => new MathAPI(),
  MessageAPI: () => new MessageAPI(),
  TwitterAPI: () => new TwitterAPI(),
  TicketAPI: () => new TicketAPI(),
  TradingBot: () => new TradingBot(),
  TravelAPI: () => new TravelAPI(),
  VehicleControlAPI: () => new VehicleControlAPI(),
};

/** The eight BFCL multi-turn class names. */
export const BFCL_CLASS_NAMES: readonly string[] = Object.keys(FACTORIES);

/** `STATELESS_CLASSES`: never loaded with a scenario. */
export const STATELESS_CLASSES: readonly string[] = ["MathAPI"];

/** Create a fresh, unloaded instance of a BFCL class. Throws `RangeError` for unknown names. */
export function createEnv(className: string): BfclEnv {
  const factory = Object.hasOwn(FACTORIES, className) ? FACTORIES[className] : undefined;
  if (!factory) {
    throw new RangeError(
      `Cannot create environment "${className}": expected one of ${BFCL_CLASS_NAMES.join(", ")}`,
    );
  }
  return factory();
}
