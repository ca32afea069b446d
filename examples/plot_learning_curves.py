"""
Learning curves: training and validation loss per epoch
=======================================================

With ``early_stopping=True`` an estimator holds out ``validation_fraction``
of its training rows and records their loss after every epoch in
``net_.history``, next to the training loss. Here FM and DeepFM predict the
ratings of 300 MovieLens users for up to 30 epochs; each stops when the
validation loss has not improved for 3 epochs and keeps its best weights.
"""

import matplotlib.pyplot as plt

from sklfi import DeepFMRegressor, FMRegressor
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures

ml = load_movielens_100k()
ratings = ml.ratings[ml.ratings.user_id <= 300]
groups = ["user_id", "item_id", "genres", "age_bucket", "occupation", "gender"]
X = MovieLensFeatures(ml.users, ml["items"], groups=groups).fit_transform(ratings)

fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
for ax, cls in zip(axes, (FMRegressor, DeepFMRegressor)):
    model = cls(early_stopping=True, max_epochs=30, random_state=0)
    model.fit(X, ratings.rating)
    history = model.net_.history
    ax.plot(history[:, "epoch"], history[:, "train_loss"], label="training")
    ax.plot(history[:, "epoch"], history[:, "valid_loss"], label="validation")
    ax.set_title(f"{cls.__name__}: {model.n_iter_} epochs")
    ax.set_xlabel("epoch")
axes[0].set_ylabel("loss (MSE of the standardised rating)")
axes[0].legend()
fig.tight_layout()
plt.show()
