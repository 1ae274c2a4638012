"""Node p answers every train instruction with the model filled with p+1, num-examples 10(p+1)."""
import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    p = int(context.node_config["partition-id"])
    arrays = [np.full_like(a, p + 1) for a in msg.content["arrays"].to_numpy_ndarrays()]
    content = RecordDict(
        {"arrays": ArrayRecord(arrays), "metrics": MetricRecord({"num-examples": 10 * (p + 1)})}
    )
    return Message(content=content, reply_to=msg)
