import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type Database from "better-sqlite3";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { MessageSchema } from "../../gen/flwr/proto/message_pb.ts";
import type { JournalEntry } from "../app/replay.ts";
import type { Message } from "../message/message.ts";
import { messageFromProto, messageToProto } from "../message/message-serde.ts";

/**
 * A native run's reply journal, in the SuperLink's database: every reply its ServerApp took,
 * whole (metadata and records, as a flwr.proto.Message), by message key (replay.ts), written
 * before the ServerApp sees it; and every list of node ids it was given, in order, since which
 * nodes were connected is an input of the ServerApp as much as a reply is (node sampling).
 * The bridge's journal (bridge/reply-journal.ts) keeps runtime task results as files instead;
 * the two share the Replay that reads them.
 */
export class RunJournal {
  readonly #db: Database.Database;
  readonly #runId: string;
  readonly #entries: Map<string, JournalEntry>;
  readonly #nodeLists: bigint[][];
  #seq: number;

  constructor(db: Database.Database, runId: bigint) {
    this.#db = db;
    this.#runId = String(runId);
    const rows = db
      .prepare("SELECT key, seq, node FROM replies WHERE run_id = ? ORDER BY seq")
      .all(this.#runId) as { key: string; seq: number; node: string }[];
    this.#entries = new Map(rows.map((r) => [r.key, { seq: r.seq, node: `node ${r.node}` }]));
    this.#seq = rows.reduce((max, r) => Math.max(max, r.seq), 0);
    const lists = db
      .prepare("SELECT ids FROM node_lists WHERE run_id = ? ORDER BY seq")
      .all(this.#runId) as { ids: string }[];
    this.#nodeLists = lists.map((l) => (JSON.parse(l.ids) as string[]).map((id) => BigInt(id)));
  }

  /** The replies journaled before this process opened it, by key. */
  entries(): ReadonlyMap<string, JournalEntry> {
    return this.#entries;
  }

  /** The node lists the ServerApp was given before, in the order it asked for them. */
  nodeLists(): readonly bigint[][] {
    return this.#nodeLists;
  }

  /** The journaled reply of `key`; the caller addresses it to the message sent again. */
  load(key: string): Message {
    const row = this.#db
      .prepare("SELECT reply FROM replies WHERE run_id = ? AND key = ?")
      .get(this.#runId, key) as { reply: Buffer } | undefined;
    if (row === undefined)
      throw new FedbridgeError(Code.NotFound, `the reply journal holds no reply ${key}`);
    return messageFromProto(fromBinary(MessageSchema, row.reply));
  }

  record(key: string, node: bigint, reply: Message): void {
    const bytes = toBinary(MessageSchema, messageToProto(reply));
    this.#db
      .prepare(
        "INSERT OR REPLACE INTO replies (run_id, key, seq, node, reply) VALUES (?, ?, ?, ?, ?)",
      )
      .run(this.#runId, key, ++this.#seq, String(node), blob(bytes));
  }

  /** Records the `seq`-th (from 0) node list the ServerApp was given. */
  recordNodeList(seq: number, ids: readonly bigint[]): void {
    this.#db
      .prepare("INSERT OR REPLACE INTO node_lists (run_id, seq, ids) VALUES (?, ?, ?)")
      .run(this.#runId, seq, JSON.stringify(ids.map(String)));
  }
}

/** The bytes as a Buffer, without copying: what better-sqlite3 binds as a BLOB. */
export function blob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
