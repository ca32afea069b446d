"""
Serve a fitted pipeline with ONNX Runtime, from raw columns
===========================================================

A model that predicts clicks is asked one row at a time, behind a request,
often by a service that is not written in Python. :func:`sklfi.export.to_onnx`
turns a fitted ``Pipeline(FieldEncoder, estimator)`` into one ONNX graph
that reads the raw columns (text ids, genres joined by ``"|"``, numbers
with missing values) and answers with ``label`` and ``probabilities``, as
scikit-learn's converters name them; ONNX Runtime runs it from Python, C++,
C#, Java or JavaScript. Here: fit on a DataFrame, export, predict with ONNX
Runtime, and compare with ``predict_proba``, unseen ids and missing values
included.
"""

import time

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.pipeline import make_pipeline

from sklfi import DeepFMClassifier
from sklfi.export import onnx_inputs, to_onnx
from sklfi.preprocessing import FieldEncoder

rng = np.random.default_rng(0)


def impressions(n):
    """Ad impressions: who saw which ad where, and whether they clicked."""
    df = pd.DataFrame(
        {
            "site": rng.choice([f"site{i}" for i in range(40)], n),
            "ad": rng.choice([f"ad{i}" for i in range(60)], n),
            "device": rng.choice(["phone", "tablet", "desktop"], n),
            "topics": ["|".join(rng.choice(list("abcdefgh"), 2)) for _ in range(n)],
            "hour": rng.integers(0, 24, n).astype(float),
        }
    )
    df.loc[rng.random(n) < 0.05, "hour"] = np.nan  # a missing value now and then
    # clicks: a site-ad affinity, and evenings on phones
    affinity = (df.site.str[4:].astype(int) % 5) == (df.ad.str[2:].astype(int) % 5)
    evening = (df.device == "phone") & (df.hour.fillna(0) > 17)
    logit = -1.5 + 2.0 * affinity + 1.0 * evening
    return df, rng.random(n) < 1 / (1 + np.exp(-logit))


train, y = impressions(20_000)
model = make_pipeline(
    FieldEncoder(
        categorical=["site", "ad", "device"], multi_valued=["topics"], numeric=["hour"]
    ),
    DeepFMClassifier(max_epochs=5, random_state=0),
).fit(train, y)

# %%
# Export. The graph has one input per column, named as the column: text for
# the categorical and multi-valued ones, ``double`` for numbers.
graph = to_onnx(model, train)
print([(i.name, i.type.tensor_type.elem_type) for i in graph.graph.input])
print([o.name for o in graph.graph.output])

# %%
# Serve. ``onnx_inputs`` builds the feed from a DataFrame (a missing text
# value is ``""``; a missing number ``NaN``); another language builds the
# same arrays. A site never seen in training is left out of the row, as
# ``FieldEncoder`` leaves it out.
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(graph.SerializeToString(), options)

test, _ = impressions(1_000)
test.loc[0, "site"] = "a-site-never-seen"
test.loc[1, "hour"] = np.nan
label, proba = session.run(None, onnx_inputs(model, test))
print("largest difference from predict_proba:",
      np.abs(proba - model.predict_proba(test)).max())  # fmt: skip
print("same labels:", bool((label == model.predict(test)).all()))

# %%
# One request at a time: the graph answers a row in a few hundredths of a
# millisecond on one core, ten or more times faster than the Python
# pipeline (``benchmarks/serving.py`` measures both for every model).
feeds = [onnx_inputs(model, test[i : i + 1]) for i in range(200)]
start = time.perf_counter()
for feed in feeds:
    session.run(None, feed)
onnx_ms = (time.perf_counter() - start) / len(feeds) * 1e3
start = time.perf_counter()
for i in range(200):
    model.predict_proba(test[i : i + 1])
python_ms = (time.perf_counter() - start) / 200 * 1e3
print(f"one row: ONNX Runtime {onnx_ms:.3f} ms, Python pipeline {python_ms:.3f} ms")
