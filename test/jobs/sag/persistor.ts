import {
  arrayRecord,
  createShareable,
  DataKind,
  float32Array,
  type ModelPersistor,
  recordDict,
} from "fedbridge/runtime";

/** The first model: w = [0.1, 0.2, 0.3, 0.4], b = [0]. */
export const persistor: ModelPersistor = {
  load: () =>
    createShareable(
      DataKind.WEIGHTS,
      recordDict({
        arrays: {
          model: arrayRecord([
            ["w", float32Array(Float32Array.of(0.1, 0.2, 0.3, 0.4), [4])],
            ["b", float32Array(Float32Array.of(0), [1])],
          ]),
        },
      }),
    ),
};
