"""An optimizer for embedding tables with sparse gradients."""

from __future__ import annotations

from itertools import chain

import torch

from ._segment import add_rows

__all__ = ["LazyAdamW"]


class LazyAdamW(torch.optim.AdamW):
    """AdamW that updates, in a table with a sparse gradient, only the rows
    of the batch.

    Parameters with a dense gradient (MLPs, biases) get torch's AdamW step
    (fused where asked). A parameter with a sparse gradient, an embedding
    table of millions of rows of which a batch touches a few thousand, gets
    the same update on those rows alone ("lazy" Adam, as large-scale
    recommenders use it): their two moments decay and are updated, the bias
    correction uses the number of steps taken, and the other rows, their
    moments included, are left as they are. So the cost of a step follows
    the batch's non-zeros, not the table's size.

    Weight decay is lazy too. Decoupled (``decoupled=True``, as AdamW), a
    row is decayed when it is updated, by the factor ``1 - lr * weight_decay``
    of every step since its last update: the decay dense AdamW would have
    applied to it meanwhile, caught up (with the learning rate of the step
    that catches up). As Adam's L2 penalty (``decoupled=False``), ``weight_decay``
    times the row is added to its gradient when it is in a batch, so a row
    seen in few batches is penalised less than by dense Adam.

    A table's counters are exact integers, however long the stream: its step
    count a Python int, and the step of each row's last update int64 (a
    float32 count stops at 2**24 steps, and the decay with it). They survive
    :meth:`load_state_dict`, pickling and :func:`copy.deepcopy`.

    Parameters
    ----------
    params : iterable of parameters or parameter groups
    lr, betas, eps, weight_decay : as :class:`torch.optim.AdamW`
    decoupled : bool, default=True
        Decoupled weight decay (AdamW) rather than an L2 penalty (Adam), for
        the dense parameters as for the sparse ones.
    **kwargs
        Passed to :class:`torch.optim.AdamW` (``fused``, ``foreach``...).
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        decoupled=True,
        **kwargs,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, **kwargs)
        self.decoupled = decoupled

    def __getstate__(self):
        # torch's pickles only defaults, state and param_groups
        return {**super().__getstate__(), "decoupled": self.decoupled}

    def __setstate__(self, state):
        # Adam's makes every non-tensor "step" a float tensor; a table's
        # (the state with "last") stays an int
        steps = {
            p: int(s["step"])
            for p, s in state["state"].items()
            if isinstance(s, dict) and "last" in s
        }
        super().__setstate__(state)
        for p, step in steps.items():
            self.state[p]["step"] = step

    def load_state_dict(self, state_dict):
        """Load the optimizer state, a table's integer counters as integers.

        torch's casts every tensor of a parameter's state, but its "step", to
        the parameter's floating dtype: the step of each row's last update
        would be inexact above 2**24 in float32, and the positions
        :func:`_sum_rows` writes would be floats. They are put back here.

        Parameters
        ----------
        state_dict : dict
            Optimizer state, as returned by :meth:`state_dict`.
        """
        super().load_state_dict(state_dict)
        # matched to the parameters by order, as torch's own matching
        saved = chain.from_iterable(g["params"] for g in state_dict["param_groups"])
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        for i, p in zip(saved, params):
            table = state_dict["state"].get(i, {})
            if "last" in table:
                state = self.state[p]
                state["last"] = table["last"].to(p.device, torch.int64)
                state["scratch"] = table["scratch"].to(p.device, torch.int32)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        sparse = [
            (group, p)
            for group in self.param_groups
            for p in group["params"]
            if p.grad is not None and p.grad.is_sparse
        ]
        grads = [p.grad for _, p in sparse]
        for _, p in sparse:  # (the dense step skips them)
            p.grad = None
        if not self.decoupled:  # Adam's L2 penalty, in the gradient
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None and group["weight_decay"]:
                        p.grad = p.grad.add(p, alpha=group["weight_decay"])
            decays = [g["weight_decay"] for g in self.param_groups]
            for g in self.param_groups:
                g["weight_decay"] = 0.0
            try:
                super().step()
            finally:
                for g, decay in zip(self.param_groups, decays):
                    g["weight_decay"] = decay
        else:
            super().step()
        for (group, p), grad in zip(sparse, grads):
            p.grad = grad
            self._sparse_step(group, p, grad)
        return loss

    def _sparse_step(self, group, p, grad):
        beta1, beta2 = group["betas"]
        lr, decay = group["lr"], group["weight_decay"]
        state = self.state[p]
        if not state:
            n, width = p.shape
            # a Python int: exact, and read without a device sync
            state["step"] = 0
            # both moments of a row side by side: one gather, one scatter
            state["moments"] = p.new_zeros(n, 2 * width)
            # the step of every row's last update (for the decay it missed),
            # and a scratch column to find a batch's rows without sorting
            state["last"] = torch.zeros(n, dtype=torch.int64, device=p.device)
            state["scratch"] = torch.empty(n, dtype=torch.int32, device=p.device)
        state["step"] += 1
        t = state["step"]
        rows, values = _sum_rows(grad._indices()[0], grad._values(), state["scratch"])
        weights = p.index_select(0, rows)
        if not self.decoupled and decay:
            values = values + decay * weights
        moments = state["moments"].index_select(0, rows)
        exp_avg, exp_avg_sq = moments.chunk(2, dim=1)
        exp_avg.mul_(beta1).add_(values, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(values, values, value=1 - beta2)
        state["moments"].index_copy_(0, rows, moments)
        denominator = (exp_avg_sq / (1 - beta2**t)).sqrt_().add_(group["eps"])
        if self.decoupled and decay:
            # counted in integers: only the exponent is in the weights' dtype
            missed = (t - state["last"].index_select(0, rows)).to(weights.dtype)
            weights.mul_((1 - lr * decay) ** missed.unsqueeze(-1))
        state["last"].index_fill_(0, rows, t)
        weights.addcdiv_(exp_avg, denominator, value=-lr / (1 - beta1**t))
        p.index_copy_(0, rows, weights)


def _sum_rows(idx, values, scratch):
    """The distinct rows of ``idx`` and the sums of their ``values``.

    Rather than sort ``idx`` (``coalesce``: 0.46 ms for 10,240 ids), every
    entry writes its position into its row of the table-sized ``scratch``;
    the entries that read back their own position are one per row. Linear
    in the batch, whatever the table's size; ``scratch`` needs no reset.
    """
    positions = torch.arange(len(idx), dtype=scratch.dtype, device=idx.device)
    scratch.index_copy_(0, idx, positions)
    winner = scratch.index_select(0, idx)
    first = winner == positions
    rows = idx[first]
    number = torch.cumsum(first, 0, dtype=torch.int64) - 1  # of each first entry
    sums = values.new_zeros(len(rows), values.shape[1])
    return rows, add_rows(sums, number[winner.long()], values)
