import { ConfigRecord, MessageType, RecordDict, ServerApp } from "fedbridge";

/**
 * Sends every node one query with the run config's `ttl` (seconds) and `spin`, then logs each
 * reply: its error, or "ok". With spin=true the ClientApp never returns.
 */
export const app = new ServerApp();

app.main(async (grid, context) => {
  const nodes = await grid.getNodeIds();
  const config = new ConfigRecord({ spin: context.runConfig.spin === true });
  const replies = await grid.sendAndReceive(
    nodes.map((node) =>
      grid.createMessage(
        new RecordDict({ config }),
        MessageType.QUERY,
        node,
        "",
        Number(context.runConfig.ttl),
      ),
    ),
  );
  for (const reply of replies)
    grid.observer.log(
      `reply from node ${reply.metadata.srcNodeId}: ${reply.hasError() ? reply.error : "ok"}`,
    );
  return undefined;
});
