import { ConnectError } from "@connectrpc/connect";
import { Command, CommanderError } from "commander";
import { codeName, FedbridgeError } from "../core/fedbridge-error.ts";
import { growHeapsFurther } from "../core/heap-growth.ts";
import { registerAdmin } from "./admin.ts";
import { registerBridge } from "./bridge.ts";
import { registerClient } from "./client.ts";
import { registerDashboard } from "./dashboard.ts";
import { registerDemo } from "./demo.ts";
import { registerProvision } from "./provision.ts";
import { registerRun } from "./run.ts";
import { registerServer } from "./server.ts";
import { registerSuperLink } from "./superlink.ts";
import { registerSuperNode } from "./supernode.ts";
import { registerTracking } from "./tracking.ts";
import { registerWebNode } from "./web-node.ts";

/**
 * The `fedbridge` command (../shared/CLI.md). Each subcommand lives in its own file and
 * only parses flags and prints; the work is done by the library.
 */
growHeapsFurther();

const program = new Command("fedbridge")
  .description(
    "Federated learning: Flower-style apps in simulation, native deployment and the runtime",
  )
  .version("0.1.0")
  .showSuggestionAfterError()
  .exitOverride();

registerServer(program);
registerClient(program);
registerAdmin(program);
registerBridge(program);
registerDemo(program);
registerRun(program);
registerProvision(program);
registerSuperLink(program);
registerSuperNode(program);
registerTracking(program);
registerDashboard(program);
registerWebNode(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed its one line (or the help / version, which exit 0).
    process.exit(error.exitCode);
  }
  // The runtime's services answer with Connect errors: keep their code and plain message.
  const failure =
    error instanceof ConnectError
      ? new FedbridgeError(error.code as number, error.rawMessage)
      : FedbridgeError.from(error);
  console.error(`fedbridge: ${failure.message} [${codeName(failure.code)}]`);
  if (process.env.FEDBRIDGE_DEBUG) console.error(failure.cause ?? failure);
  process.exit(1);
}
