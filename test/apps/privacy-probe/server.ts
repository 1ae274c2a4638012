import { ArrayRecord, FlowerArray, MessageType, RecordDict, ServerApp } from "fedbridge";

/**
 * Sends every node a model, w = [1, 2], in one query and logs, for each reply as it reached
 * the ServerApp, the names of its arrays and the values of its w: a site's privacy filters
 * act on bridged replies before they leave the site.
 */
export const app = new ServerApp();

app.main(async (grid) => {
  const nodes = await grid.getNodeIds();
  const model = new ArrayRecord().set("w", FlowerArray.fromTypedArray(Float32Array.of(1, 2), [2]));
  const replies = await grid.sendAndReceive(
    nodes.map((node) =>
      grid.createMessage(new RecordDict({ arrays: model }), MessageType.QUERY, node),
    ),
  );
  for (const reply of replies) {
    const arrays = reply.content.arrayRecords.get("arrays") ?? new ArrayRecord();
    const names = [...arrays.keys()];
    const w = [...((arrays.get("w")?.toTypedArray() ?? []) as Float32Array)];
    grid.observer.log(
      `reply from node ${reply.metadata.srcNodeId}: arrays ${names.join(",")} w ${JSON.stringify(w)}`,
    );
  }
  return undefined;
});
