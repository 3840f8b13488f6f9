/**
 * BFCL `VehicleControlAPI` (`vehicle_control.py`, docs/bfcl-spec.md §5.8).
 * @module
 */
import {
  pyAdd,
  PyDict,
  pyEquals,
  pyFloat,
  pyGt,
  pyLe,
  pyLt,
  pyMod,
  pyMul,
  PyRandom,
  pySub,
  pyTrueDiv,
  pyTruthy,
  type PyValue,
} from "@parlmt/pycompat";
import { dict, type MethodDef, params, scenarioGet, StatefulEnv } from "./bfcl_env.ts";
import { getItem, setItem } from "./_py_helpers.ts";
import { longContext } from "./long_context.ts";

const DISTANCES: [string, string, number][] = [
  ["83214", "74532", 750.0],
  ["56108", "62947", 320.0],
  ["71354", "83462", 450.0],
  ["47329", "52013", 290.0],
  ["69238", "51479", 630.0],
  ["94016", "83214", 980.0],
  ["94016", "94704", 600.0],
  ["94704", "08540", 2550.0],
  ["94016", "08540", 1950.0],
  ["62947", "47329", 1053.0],
  ["94016", "62947", 780.0],
  ["74532", "94016", 880.0],
];
const ZIPCODES = new PyDict([
  ["Rivermist", "83214"],
  ["Stonebrook", "74532"],
  ["Maplecrest", "56108"],
  ["Silverpine", "62947"],
  ["Shadowridge", "71354"],
  ["Sunset Valley", "83462"],
  ["Oakendale", "47329"],
  ["Willowbend", "52013"],
  ["Crescent Hollow", "69238"],
  ["Autumnville", "51479"],
  ["San Francisco", "94016"],
]);

/** `[attribute, scenario key, default]` in `_load_scenario` assignment order. */
const FIELDS: [string, string, PyValue][] = [
  ["fuelLevel", "fuelLevel", 0.0],
  ["batteryVoltage", "batteryVoltage", 12.6],
  ["engine_state", "engineState", "stopped"],
  ["remainingUnlockedDoors", "remainingUnlockedDoors", 4n],
  ["doorStatus", "doorStatus", null],
  ["acTemperature", "acTemperature", 25.0],
  ["fanSpeed", "fanSpeed", 50n],
  ["acMode", "acMode", "auto"],
  ["humidityLevel", "humidityLevel", 50.0],
  ["headLightStatus", "headLightStatus", "off"],
  ["parkingBrakeStatus", "parkingBrakeStatus", "released"],
  ["_parkingBrakeForce", "parkingBrakeForce", 0.0],
  ["_slopeAngle", "slopeAngle", 0.0],
  ["brakePedalStatus", "brakePedalStatus", "released"],
  ["_brakePedalForce", "brakePedalForce", 0.0],
  ["distanceToNextVehicle", "distanceToNextVehicle", 50.0],
  ["cruiseStatus", "cruiseStatus", "inactive"],
  ["destination", "destination", "None"],
  ["frontLeftTirePressure", "frontLeftTirePressure", 32.0],
  ["frontRightTirePressure", "frontRightTirePressure", 32.0],
  ["rearLeftTirePressure", "rearLeftTirePressure", 30.0],
  ["rearRightTirePressure", "rearRightTirePressure", 30.0],
];

const between = (lo: PyValue, x: PyValue, hi: PyValue) => pyLe(lo, x) && pyLe(x, hi);

/** A car: engine, doors, climate, brakes, navigation. */
export class VehicleControlAPI extends StatefulEnv<VehicleControlAPI> {
  /** The Python class name. */
  readonly className = "VehicleControlAPI";

  protected methods(): Record<string, MethodDef<VehicleControlAPI>> {
    return METHODS;
  }

  protected create(): VehicleControlAPI {
    return new VehicleControlAPI();
  }

  loadScenario(scenario: PyDict, longCtx: boolean): void {
    const seed = scenarioGet(scenario, "random_seed", 141053n);
    this.random = new PyRandom(typeof seed === "bigint" ? seed : 141053n);
    this.attrs = new PyDict();
    for (const [attr, key, fallback] of FIELDS) {
      const def = attr === "doorStatus"
        ? dict(["driver", "unlocked"], ["passenger", "unlocked"], ["rear_left", "unlocked"], [
          "rear_right",
          "unlocked",
        ])
        : fallback;
      this.set(attr, scenarioGet(scenario, key, def));
      if (attr === "doorStatus") {
        const doors = this.get("doorStatus");
        const locked = doors instanceof PyDict
          ? [...doors.values()].filter((v) => v === "locked").length
          : 0;
        this.set("remainingUnlockedDoors", BigInt(4 - locked));
      }
    }
    this.set("long_context", longCtx);
    this.set("_weather", longCtx ? longContext().get("LONG_WEATHER_EXTENSION") : null);
  }

  #lc(): boolean {
    return pyTruthy(this.get("long_context"));
  }

  static startEngine(s: VehicleControlAPI, mode: PyValue): PyValue {
    if (mode === "STOP") s.set("engine_state", "stopped");
    if (pyGt(s.get("remainingUnlockedDoors"), 0n)) {
      const doors = s.get("doorStatus") as PyDict;
      const unlocked = [...doors].filter(([, v]) => v === "unlocked").map(([k]) => String(k));
      return dict([
        "error",
        "All doors must be locked before starting the engine. Here are the unlocked doors: " +
        unlocked.join(", "),
      ]);
    }
    if (!pyEquals(s.get("brakePedalStatus"), "pressed")) {
      return dict(["error", "Brake pedal needs to be pressed when starting the engine."]);
    }
    if (!pyEquals(s.get("_brakePedalForce"), 1000.0)) {
      return dict(["error", "Must press the brake fully before starting the engine."]);
    }
    if (pyLt(s.get("fuelLevel"), 0.0)) return dict(["error", "Fuel tank is empty."]);
    if (mode === "START") s.set("engine_state", "running");
    else return dict(["error", "Invalid ignition mode."]);
    return dict(["engineState", s.get("engine_state")], ["fuelLevel", s.get("fuelLevel")], [
      "batteryVoltage",
      s.get("batteryVoltage"),
    ]);
  }

  static fill(s: VehicleControlAPI, amount: PyValue): PyValue {
    if (pyLt(amount, 0n)) return dict(["error", "Fuel amount cannot be negative."]);
    const total = pyAdd(s.get("fuelLevel"), amount);
    if (pyGt(total, 50n)) return dict(["error", "Cannot fill gas above the tank capacity."]);
    if (pyLt(total, 0.0)) {
      return dict(["error", "Fuel tank is empty. Min fuel level is 0 gallons."]);
    }
    s.set("fuelLevel", total);
    return dict(["fuelLevel", total]);
  }

  static lockDoors(s: VehicleControlAPI, unlock: PyValue, doors: PyValue): PyValue {
    const status = s.get("doorStatus");
    const target = pyTruthy(unlock) ? "unlocked" : "locked";
    const list = Array.isArray(doors) ? doors : typeof doors === "string" ? [...doors] : [doors];
    for (const d of list) {
      if (pyEquals(getItem(status, d), target)) continue;
      setItem(status, d, target);
      s.set(
        "remainingUnlockedDoors",
        pyAdd(s.get("remainingUnlockedDoors"), target === "unlocked" ? 1n : -1n),
      );
    }
    return dict(["lockStatus", target], [
      "remainingUnlockedDoors",
      s.get("remainingUnlockedDoors"),
    ]);
  }

  static climate(s: VehicleControlAPI, a: PyValue[]): PyValue {
    const [temperature, unit, fanSpeed, mode] = a as [PyValue, PyValue, PyValue, PyValue];
    if (!between(0n, fanSpeed, 100n)) {
      return dict(["error", "Fan speed must be between 0 and 100."]);
    }
    s.set("acTemperature", temperature);
    if (unit === "fahrenheit") {
      s.set("acTemperature", pyTrueDiv(pyMul(pySub(temperature, 32n), 5n), 9n));
    }
    s.set("fanSpeed", fanSpeed);
    s.set("acMode", mode);
    return dict(["currentACTemperature", temperature], ["climateMode", mode], [
      "humidityLevel",
      s.get("humidityLevel"),
    ]);
  }

  static outsideTemperature(s: VehicleControlAPI): PyValue {
    const t = s.rng().uniform(-10.0, 40.0);
    if (s.#lc()) {
      const weather = s.get("_weather") as PyDict;
      weather.set("outsideTemperature", t);
      return weather;
    }
    return dict(["outsideTemperature", t]);
  }

  static headlights(s: VehicleControlAPI, mode: PyValue): PyValue {
    if (mode !== "on" && mode !== "off" && mode !== "auto") {
      return dict(["error", "Invalid headlight mode."]);
    }
    const value = mode === "on" ? "on" : "off";
    s.set("headLightStatus", value);
    return dict(["headlightStatus", value]);
  }

  static display(s: VehicleControlAPI, option: PyValue): PyValue {
    const st = new PyDict();
    if (s.#lc()) st.set("metadata", longContext().get("CAR_STATUS_METADATA_EXTENSION"));
    const put = (...pairs: [string, string][]) =>
      pairs.forEach(([k, attr]) => st.set(k, s.get(attr)));
    if (option === "fuel") put(["fuelLevel", "fuelLevel"]);
    else if (option === "battery") put(["batteryVoltage", "batteryVoltage"]);
    else if (option === "doors") put(["doorStatus", "doorStatus"]);
    else if (option === "climate") {
      put(["currentACTemperature", "acTemperature"], ["fanSpeed", "fanSpeed"], [
        "climateMode",
        "acMode",
      ], ["humidityLevel", "humidityLevel"]);
    } else if (option === "headlights") put(["headlightStatus", "headLightStatus"]);
    else if (option === "parkingBrake") {
      put(
        ["parkingBrakeStatus", "parkingBrakeStatus"],
        ["parkingBrakeForce", "_parkingBrakeForce"],
        ["slopeAngle", "_slopeAngle"],
      );
    } else if (option === "brakePedal") {
      put(["brakePedalStatus", "brakePedalStatus"], ["brakePedalForce", "_brakePedalForce"]);
    } else if (option === "engine") put(["engineState", "engine_state"]);
    else st.set("error", "Invalid option");
    return st;
  }

  static parkingBrake(s: VehicleControlAPI, mode: PyValue): PyValue {
    if (mode !== "engage" && mode !== "release") return dict(["error", "Invalid mode"]);
    const status = mode === "engage" ? "engaged" : "released";
    const force = mode === "engage" ? 500.0 : 0.0;
    s.set("parkingBrakeStatus", status);
    s.set("_parkingBrakeForce", force);
    s.set("_slopeAngle", 10.0);
    const out = new PyDict();
    if (s.#lc()) out.set("parkingBrakeInstruction", longContext().get("PARKING_BRAKE_INSTRUCTION"));
    out.set("parkingBrakeStatus", status).set("_parkingBrakeForce", force).set("_slopeAngle", 10.0);
    return out;
  }

  static pressBrake(s: VehicleControlAPI, position: PyValue): PyValue {
    if (!between(0n, position, 1n)) {
      return dict(["error", "Pedal position must be between 0 and 1."]);
    }
    if (pyEquals(position, 0n)) {
      s.set("brakePedalStatus", "released");
      s.set("_brakePedalForce", 0.0);
      return dict(["brakePedalStatus", "released"], ["brakePedalForce", 0.0]);
    }
    const force = pyMul(position, 1000n);
    s.set("brakePedalStatus", "pressed");
    s.set("_brakePedalForce", force);
    return dict(["brakePedalStatus", "pressed"], ["brakePedalForce", pyFloat(force)]);
  }

  static releaseBrake(s: VehicleControlAPI): PyValue {
    s.set("brakePedalStatus", "released");
    s.set("_brakePedalForce", 0.0);
    return dict(["brakePedalStatus", "released"], ["brakePedalForce", 0.0]);
  }

  static cruise(
    s: VehicleControlAPI,
    speed: PyValue,
    activate: PyValue,
    distance: PyValue,
  ): PyValue {
    if (pyEquals(s.get("engine_state"), "stopped")) {
      return dict(["error", "Start the engine before activating the cruise control."]);
    }
    if (pyTruthy(activate)) {
      s.set("distanceToNextVehicle", pyFloat(distance));
      if (pyLt(speed, 0n) || pyGt(speed, 120n) || !pyEquals(pyMod(speed, 5n), 0n)) {
        return dict(["error", "Invalid speed"]);
      }
      s.set("cruiseStatus", "active");
      return dict(["cruiseStatus", "active"], ["currentSpeed", pyFloat(speed)], [
        "distanceToNextVehicle",
        pyFloat(distance),
      ]);
    }
    s.set("cruiseStatus", "inactive");
    s.set("distanceToNextVehicle", pyFloat(distance));
    return dict(["cruiseStatus", "inactive"], ["currentSpeed", pyFloat(speed)], [
      "distanceToNextVehicle",
      pyFloat(distance),
    ]);
  }

  static distance(s: VehicleControlAPI, a: PyValue, b: PyValue): PyValue {
    const hit = DISTANCES.find(([x, y]) => (a === x && b === y) || (a === y && b === x));
    const out = hit
      ? dict(["distance", hit[2]])
      : dict(["error", "distance not found in database."]);
    if (s.#lc()) out.set("intermediaryCities", longContext().get("INTERMEDIARY_CITIES"));
    return out;
  }

  static navigate(s: VehicleControlAPI, destination: PyValue): PyValue {
    s.set("destination", destination);
    if (typeof destination !== "string") {
      return dict(["status", "Navigating to " + String(destination)]);
    }
    return dict(["status", "Navigating to " + destination]);
  }

  static tires(s: VehicleControlAPI): PyValue {
    const names = [
      "frontLeftTirePressure",
      "frontRightTirePressure",
      "rearLeftTirePressure",
      "rearRightTirePressure",
    ];
    const avg = pyTrueDiv(names.map((n) => s.get(n)).reduce((x, y) => pyAdd(x, y)), 4n);
    const out = new PyDict();
    for (const n of names) out.set(n, s.get(n));
    out.set("healthy_tire_pressure", between(30n, avg, 35n));
    out.set(
      "car_info",
      s.#lc() ? longContext().get("CAR_STATUS_METADATA_EXTENSION") : new PyDict(),
    );
    return out;
  }

  static speed(s: VehicleControlAPI): PyValue {
    return dict(["currentSpeed", s.rng().uniform(0.0, 120.0)]);
  }

  static feasible(s: VehicleControlAPI, distance: PyValue): PyValue {
    return dict(["canDrive", !pyLt(pyMul(s.get("fuelLevel"), 20.0), distance)]);
  }
}

type V = VehicleControlAPI;
const METHODS: Record<string, MethodDef<V>> = {
  activateParkingBrake: {
    params: params(["mode"]),
    impl: (s, a) => VehicleControlAPI.parkingBrake(s, a[0]!),
  },
  adjustClimateControl: {
    params: params(["temperature"], ["unit", "celsius"], ["fanSpeed", 50n], ["mode", "auto"]),
    impl: (s, a) => VehicleControlAPI.climate(s, a),
  },
  check_tire_pressure: { params: params(), impl: (s) => VehicleControlAPI.tires(s) },
  displayCarStatus: {
    params: params(["option"]),
    impl: (s, a) => VehicleControlAPI.display(s, a[0]!),
  },
  display_log: { params: params(["messages"]), impl: (_, a) => dict(["log", a[0]!]) },
  estimate_distance: {
    params: params(["cityA"], ["cityB"]),
    impl: (s, a) => VehicleControlAPI.distance(s, a[0]!, a[1]!),
  },
  estimate_drive_feasibility_by_mileage: {
    params: params(["distance"]),
    impl: (s, a) => VehicleControlAPI.feasible(s, a[0]!),
  },
  fillFuelTank: {
    params: params(["fuelAmount"]),
    impl: (s, a) => VehicleControlAPI.fill(s, a[0]!),
  },
  find_nearest_tire_shop: {
    params: params(),
    impl: () => dict(["shopLocation", "456 Oakwood Avenue, Rivermist, 83214"]),
  },
  gallon_to_liter: {
    params: params(["gallon"]),
    impl: (_, a) => dict(["liter", pyMul(a[0]!, 3.78541)]),
  },
  get_current_speed: { params: params(), impl: (s) => VehicleControlAPI.speed(s) },
  get_outside_temperature_from_google: {
    params: params(),
    impl: (s) => VehicleControlAPI.outsideTemperature(s),
  },
  get_outside_temperature_from_weather_com: { params: params(), impl: () => dict(["error", 404n]) },
  get_zipcode_based_on_city: {
    params: params(["city"]),
    impl: (_, a) =>
      dict(["zipcode", typeof a[0] === "string" ? (ZIPCODES.get(a[0]) ?? "00000") : "00000"]),
  },
  liter_to_gallon: {
    params: params(["liter"]),
    impl: (_, a) => dict(["gallon", pyMul(a[0]!, 0.264172)]),
  },
  lockDoors: {
    params: params(["unlock"], ["door"]),
    impl: (s, a) => VehicleControlAPI.lockDoors(s, a[0]!, a[1]!),
  },
  pressBrakePedal: {
    params: params(["pedalPosition"]),
    impl: (s, a) => VehicleControlAPI.pressBrake(s, a[0]!),
  },
  releaseBrakePedal: { params: params(), impl: (s) => VehicleControlAPI.releaseBrake(s) },
  setCruiseControl: {
    params: params(["speed"], ["activate"], ["distanceToNextVehicle"]),
    impl: (s, a) => VehicleControlAPI.cruise(s, a[0]!, a[1]!, a[2]!),
  },
  setHeadlights: {
    params: params(["mode"]),
    impl: (s, a) => VehicleControlAPI.headlights(s, a[0]!),
  },
  set_navigation: {
    params: params(["destination"]),
    impl: (s, a) => VehicleControlAPI.navigate(s, a[0]!),
  },
  startEngine: {
    params: params(["ignitionMode"]),
    impl: (s, a) => VehicleControlAPI.startEngine(s, a[0]!),
  },
};
