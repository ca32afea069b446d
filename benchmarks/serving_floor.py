"""How low eager PyTorch takes one served DeepFM row, against sklfi's path.

The pipeline of ``benchmarks/serving.py`` (MovieLens-100K u1, raw columns,
``FieldEncoder`` then ``DeepFMClassifier``, one core), its rows encoded
beforehand. For every test row, one after the other in the same loop (so
that the machine's slow spells fall on all of them alike):

* ``predict_proba``: the estimator's, as served;
* ``lean forward``: the same ``predict_proba`` with DeepFM's forward pass
  replaced by the fewest torch calls that give the same bits (checked):
  weights detached beforehand, no submodule call, no hook honoured. What
  is left around it (checks, batch, probabilities) is sklfi's own;
* ``no module``: the same with a forward pass that returns zeros at once
  (sklfi's path around the module);
* ``module alone``: the module on batches made beforehand, in inference
  mode, one after the other with nothing else between them;
* ``batch alone``: making the batches of those rows, nothing else.

"predict_proba" less "no module" is what the module takes in a served
row, to compare with "module alone".

    SKLFI_DATA=../shared/data python benchmarks/serving_floor.py --rows 1000
"""

import argparse
import copy
import time
import types

import numpy as np
import torch
import torch.nn.functional as F
from serving import COLUMNS, raw_frames
from sklearn.pipeline import make_pipeline

import sklfi
from sklfi._batch import csr_batch
from sklfi.nn._segment import _positions
from sklfi.preprocessing import FieldEncoder


def minimal_forward(module):
    """DeepFM's forward pass in the fewest torch calls (the same floats), for
    this benchmark's model: one output, no batch norm, batches of a CSR
    matrix with their field slots set (anything else fails the bit check or
    raises)."""
    emb = module.embedding
    D, n_fields = emb._width, emb.n_fields
    table, bias = emb.weight.detach(), emb.bias.detach()
    linears = [
        (layer.weight.detach(), layer.bias.detach())
        for layer in module.deep
        if isinstance(layer, torch.nn.Linear)
    ]

    def forward(self, x):
        pos = _positions(x.idx.shape[0], x.offsets)
        e = torch.embedding_bag(table, x.idx, pos, False, 0, False, x.val)[0]
        pooled = e
        if x.slot_offsets is not None:  # (several non-zeros in a field)
            pooled = torch.embedding_bag(e, pos, x.slot_offsets, False, 0, False)[0]
        pooled = pooled.view(-1, n_fields, D + 1)
        sq = torch.embedding_bag(e[:, :D].square(), pos, x.offsets, False, 0, False)
        fields, lin = pooled.split_with_sizes((D, 1), -1)
        pair = 0.5 * (fields.sum(1).square() - sq[0])
        out = bias + lin.sum(1) + pair.sum(-1, keepdim=True)
        h = fields.flatten(1)
        for weight, b in linears[:-1]:
            h = torch.relu_(F.linear(h, weight, b))
        return out + F.linear(h, *linears[-1])

    return forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X_train, X_test, y_train = raw_frames()
    model = sklfi.DeepFMClassifier(max_epochs=1, random_state=0)
    pipe = make_pipeline(FieldEncoder(**COLUMNS), model).fit(X_train, y_train)
    rows = [pipe[0].transform(X_test.iloc[i : i + 1]) for i in range(args.rows)]
    net, module = model.net_, model.net_.module_.eval()
    checked = [model._validate(x, reset=False) for x in rows]
    in_order = getattr(net, "_fields_in_order", None)  # (as served)
    batches = [csr_batch(x, *net.batch_fields, 16, in_order) for x in checked]

    # a copy of the model whose module runs the minimal forward pass (an
    # instance attribute: the class stays as it is)
    lean = copy.deepcopy(model)
    copied = lean.net_.module_
    copied.forward = types.MethodType(minimal_forward(copied), copied)
    expected = np.concatenate([model.predict_proba(x) for x in rows])
    if not np.array_equal(
        expected, np.concatenate([lean.predict_proba(x) for x in rows])
    ):
        raise AssertionError("the minimal forward pass changed the predictions")

    # and a copy whose module does no work at all: what is left is sklfi's
    # path around the module (checks, batch, probabilities)
    bare = copy.deepcopy(model)
    out = torch.zeros(16, 1)
    bare.net_.module_.forward = lambda x: out[: x.n_rows]

    def module_alone(b):
        with torch.inference_mode():
            return module(b)

    def batch_alone(x):
        return csr_batch(x, *net.batch_fields, 16, in_order)

    def timed(call, item):
        start = time.perf_counter_ns()
        call(item)
        return time.perf_counter_ns() - start

    served = {
        "predict_proba": model.predict_proba,
        "lean forward": lean.predict_proba,
        "no module": bare.predict_proba,
    }
    times = {key: [] for key in [*served, "module alone", "batch alone"]}
    for rep in range(3):
        order = list(served)[rep:] + list(served)[:rep]  # (each one first once)
        for x in rows:  # (row by row: slow spells fall on all alike)
            for key in order:
                times[key].append(timed(served[key], x))
        times["module alone"] += [timed(module_alone, b) for b in batches]
        times["batch alone"] += [timed(batch_alone, x) for x in checked]
    for key, values in times.items():
        print(f"{key:14s} p50 {np.percentile(values, 50) / 1e3:6.1f} us")


if __name__ == "__main__":
    main()
