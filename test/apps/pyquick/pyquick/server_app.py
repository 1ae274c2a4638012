"""FedAvg over every node from a float32[4] of zeros; prints the final model."""
import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    strategy = FedAvg(
        fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=2, min_available_nodes=2
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord([np.zeros(4, dtype=np.float32)]),
        train_config=ConfigRecord({"lr": 0.1}),
        num_rounds=int(context.run_config["num-server-rounds"]),
    )
    print("PYQUICK_RESULT", result.arrays.to_numpy_ndarrays()[0].tolist())
