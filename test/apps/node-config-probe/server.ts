import { MessageType, RecordDict, ServerApp } from "fedbridge";

/** Asks every node for its node config and logs it, one line per node, by the node's name. */
export const app = new ServerApp();

app.main(async (grid) => {
  const nodes = await grid.getNodeIds();
  const replies = await grid.sendAndReceive(
    nodes.map((node) => grid.createMessage(new RecordDict(), MessageType.QUERY, node)),
  );
  for (const reply of replies) {
    const name = grid.nodeName?.(reply.metadata.srcNodeId) ?? String(reply.metadata.srcNodeId);
    const config = reply.hasError()
      ? String(reply.error)
      : JSON.stringify(Object.fromEntries(reply.content.configRecords.get("node") ?? []));
    grid.observer.log(`node config of ${name}: ${config}`);
  }
  return undefined;
});
