// Exports a ServerApp under the wrong name: the CLI must say that `app` is missing.
import { ServerApp } from "fedbridge";

export const server = new ServerApp();
