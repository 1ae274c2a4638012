import {
  arrayRecord,
  createShareable,
  DataKind,
  float32Array,
  type ModelPersistor,
  recordDict,
} from "fedbridge/runtime";

/** A model of `floats` float32 values (config), as one array. */
export const persistor: ModelPersistor = {
  load: (config) => {
    const floats = Number(config.floats);
    const values = new Float32Array(floats);
    for (let i = 0; i < floats; i += 1024) values[i] = i % 7;
    return createShareable(
      DataKind.WEIGHTS,
      recordDict({ arrays: { model: arrayRecord([["w", float32Array(values, [floats])]]) } }),
    );
  },
};
