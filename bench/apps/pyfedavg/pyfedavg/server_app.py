"""FedAvg over every node from num-arrays arrays of floats-per-array float32, as bench/apps/fedavg-10m."""
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
    initial = [pseudo_random(floats, a) for a in range(int(config["num-arrays"]))]
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


def pseudo_random(floats: int, a: int) -> np.ndarray:
    """Array a's values, as bench/apps/fedavg-10m's pseudoRandom: a multiplicative hash of each index."""
    index = np.arange(floats, dtype=np.uint32)
    hashed = index * np.uint32(0x9E3779B1) + np.uint32((a * 0x85EBCA77) % 2**32)
    return (hashed >> np.uint32(8)).astype(np.float32) / np.float32(2**24)
