"""Every value changed (x * 0.5 + partition-id + 1), as bench/apps/fedavg-10m's ClientApp does."""
import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    shift = np.float32(int(context.node_config["partition-id"]) + 1)
    arrays = [a * np.float32(0.5) + shift for a in msg.content["arrays"].to_numpy_ndarrays()]
    content = RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord({"num-examples": 1})})
    return Message(content=content, reply_to=msg)
