import { arrayEntries, type Workflow } from "fedbridge/runtime";

/**
 * A test workflow: one `collect` task to every site, and the names of the arrays each site's
 * result carried when it reached the server, in result.json.
 */
export const workflow: Workflow = {
  name: "Collect",
  async run({ controller, state, importJobModule }) {
    const { persistor } = await importJobModule<typeof import("./persistor.ts")>("./persistor.ts");
    const results = await controller.broadcastAndWait({
      name: "collect",
      data: { ...(await persistor.load({})), meta: { round: 1 } },
    });
    const received: Record<string, string[]> = {};
    for (const result of results)
      received[result.site] = arrayEntries((await result.read()).records).map((e) => e.name);
    state.result.received = received;
  },
};
