import { Argument, type Command } from "commander";
import { ALIAS_SPELLINGS } from "../aliases.js";

/** `he-ha completion bash`: prints a completion script; `source <(he-ha completion bash)`. */
export function register(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script (bash): source <(he-ha completion bash)")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash"]))
    .action(async () => {
      // generated from the command tree when asked, not at start-up
      const { bashCompletion } = await import("../format/bash-completion.js");
      process.stdout.write(bashCompletion(program, ALIAS_SPELLINGS));
    });
}
