import {
  arrayRecord,
  createShareable,
  DataKind,
  type ModelPersistor,
  recordDict,
  zerosFloat32,
} from "fedbridge/runtime";

/** A model of `floats` float32 values (config), as one array. */
export const persistor: ModelPersistor = {
  load: (config) => {
    const floats = Number(config.floats);
    // Built in place: a 400 MB model is allocated once.
    const { array, values } = zerosFloat32([floats]);
    for (let i = 0; i < floats; i += 1024) values[i] = i % 7;
    return createShareable(
      DataKind.WEIGHTS,
      recordDict({ arrays: { model: arrayRecord([["w", array]]) } }),
    );
  },
};
