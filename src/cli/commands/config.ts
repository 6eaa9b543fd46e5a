import { type Command, Option } from "commander";
import { withJson } from "../program.js";
import { CONFIG_TYPES } from "../shared-config.js";

/** The implementations (host config, the archive on storage) load in the actions, not at start-up. */
const actions = () => import("../actions/config.js");

const typeOption = () =>
  new Option("--type <type>", "the configuration type (needed when a key is in several)").choices([
    ...CONFIG_TYPES,
  ]);

export function register(program: Command): void {
  const config = program
    .command("config")
    .description("shared configuration: he_local, he_shared, broker (section.key), vm, ha");

  withJson(
    config
      .command("get")
      .description("print a configuration value (hosted-engine --get-shared-config)")
      .argument("<key>", "the key; broker keys are section.option")
      .addOption(typeOption()),
  ).action(async (key: string, opts: { type?: string; json?: boolean }) =>
    (await actions()).configGet(key, opts),
  );

  withJson(
    config
      .command("set")
      .description(
        "change a configuration value (hosted-engine --set-shared-config); archive members with compare-and-swap",
      )
      .argument("<key>", "the key; broker keys are section.option")
      .argument("<value>", "the new value")
      .addOption(typeOption()),
  ).action(async (key: string, value: string, opts: { type?: string; json?: boolean }) =>
    (await actions()).configSet(key, value, opts),
  );
}
