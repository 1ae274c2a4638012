/**
 * Mounts a cell server on a Connect router as `fedbridge.v1.CellService`, beside whatever
 * else the server's port carries (the admin API). Errors leave as gRPC statuses with
 * fedbridge's code and message, so a refused site reads why.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { CellService } from "../../gen/fedbridge/v1/cell_pb.ts";
import { MAX_FRAME_BYTES } from "./cell-options.ts";
import type { CellServer } from "./cell-server.ts";
import { toConnectError } from "./connect-errors.ts";

/**
 * @example
 * createMtlsServer({ ..., routes: (router) => registerCellService(router, cells) });
 */
export function registerCellService(router: ConnectRouter, cells: CellServer): void {
  router.service(
    CellService,
    {
      async *connect(inbound, context) {
        try {
          yield* cells.serve(inbound, context);
        } catch (reason) {
          throw toConnectError(reason);
        }
      },
    },
    // No compression: chunks are mostly model weights, which gzip hardly shrinks.
    { readMaxBytes: MAX_FRAME_BYTES, acceptCompression: [] },
  );
}
