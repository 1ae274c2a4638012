import { Array, ArrayRecord, ClientApp, Message, RecordDict } from "fedbridge";

/** Answers every query with two arrays: "w" and "secret". */
export const app = new ClientApp().query((msg) => {
  const arrays = new ArrayRecord()
    .set("w", Array.fromTypedArray(Float32Array.of(1, 2), [2]))
    .set("secret", Array.fromTypedArray(Float32Array.of(42), [1]));
  return new Message(new RecordDict({ arrays }), { replyTo: msg });
});
