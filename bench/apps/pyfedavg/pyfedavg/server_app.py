"""FedAvg over every node from num-arrays arrays of floats-per-array float32, array a filled with a."""
import numpy as np
from flwr.app import ArrayRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    config = context.run_config
    nodes = int(config["min-available-nodes"])
    floats = int(config["floats-per-array"])
    initial = [np.full(floats, a, dtype=np.float32) for a in range(int(config["num-arrays"]))]
    strategy = FedAvg(
        fraction_train=1.0,
        fraction_evaluate=0.0,
        min_train_nodes=nodes,
        min_evaluate_nodes=nodes,
        min_available_nodes=nodes,
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord(initial),
        num_rounds=int(config["num-server-rounds"]),
    )
    # The last array's first value: the bench checks both systems computed the same model.
    print("PYFEDAVG_RESULT", float(result.arrays.to_numpy_ndarrays()[-1][0]))
