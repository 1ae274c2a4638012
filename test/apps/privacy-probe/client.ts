import { ArrayRecord, ClientApp, FlowerArray, Message, RecordDict } from "fedbridge";

/**
 * Answers every query with two arrays: "w", the "w" it was sent moved by 0.5 (so [1.5, 2.5]
 * for the server's [1, 2]), and "secret", which it was not sent.
 */
export const app = new ClientApp().query((msg) => {
  const sent = msg.content.arrayRecords.get("arrays")?.get("w")?.toTypedArray() as Float32Array;
  const arrays = new ArrayRecord()
    .set(
      "w",
      FlowerArray.fromTypedArray(
        sent.map((v) => v + 0.5),
        [sent.length],
      ),
    )
    .set("secret", FlowerArray.fromTypedArray(Float32Array.of(42), [1]));
  return new Message(new RecordDict({ arrays }), { replyTo: msg });
});
