import { MessageType, RecordDict, ServerApp } from "fedbridge";

/**
 * Queries every node once and logs the names of the arrays each reply carried, as it reached
 * the ServerApp: a site's privacy filters act on bridged replies before they leave the site.
 */
export const app = new ServerApp();

app.main(async (grid) => {
  const nodes = await grid.getNodeIds();
  const replies = await grid.sendAndReceive(
    nodes.map((node) => grid.createMessage(new RecordDict(), MessageType.QUERY, node)),
  );
  for (const reply of replies) {
    const names = [...(reply.content.arrayRecords.get("arrays") ?? [])].map(([name]) => name);
    grid.observer.log(`reply from node ${reply.metadata.srcNodeId}: arrays ${names.join(",")}`);
  }
  return undefined;
});
