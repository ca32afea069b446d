"""
Training on several processes with torchrun (DDP)
=================================================

One model trained by several processes at once, each on its share of the
rows, with PyTorch's DistributedDataParallel averaging their gradients
(through Hugging Face Accelerate). This script is not run by the gallery:
launch it as several processes, on CPUs or GPUs, one machine or many::

    torchrun --nproc_per_node 2 examples/distributed_fit.py

It needs ``pip install accelerate`` (or sklfi's ``distributed`` extra).
Only process 0 prints the test ROC AUC and writes the weights (every process
calls ``save_params``, which waits for all of them).
"""

# -- the script
import torch
from accelerate import Accelerator
from sklearn.metrics import roc_auc_score

from sklfi import DeepFMClassifier
from sklfi.datasets import make_hashed_ctr

torch.set_num_threads(1)  # one thread a process: the processes share the cores
accelerator = Accelerator(cpu=not torch.cuda.is_available())  # gloo on CPUs
n = accelerator.num_processes

X, y = make_hashed_ctr(n_samples=300_000, random_state=0)  # the same in every process
X_train, y_train, X_test, y_test = X[:250_000], y[:250_000], X[250_000:], y[250_000:]

# a global batch of 2048 rows, shared out between the processes
model = DeepFMClassifier(batch_size=2048 // n, random_state=0, accelerator=accelerator)
model.fit(X_train, y_train)  # each process trains on its own half (n = 2)

auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])  # in every process
accelerator.print(f"{n} processes: test ROC AUC {auc:.4f}")  # printed once
model.net_.save_params(f_params="deepfm.pt")  # in every process: process 0 writes
# -- end
