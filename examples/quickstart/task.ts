// The quickstart's task: logistic regression on generated data, in plain float32 TypeScript.
// It lives in fedbridge/ml/logistic-regression (src/ml/logistic-regression.ts), so that a
// native runtime job (examples/runtime-sag) trains the very same model.
export * from "fedbridge/ml/logistic-regression";
