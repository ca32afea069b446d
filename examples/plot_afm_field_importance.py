"""
Which interactions matter? AFM's field-pair importances
=======================================================

The Attentional FM learns a weight for every pair of fields. After ``fit``,
``field_pair_importances_`` holds the mean attention weight of each pair over
the training rows. On the planted data only (publisher, advertiser) matters,
and the attention finds it among all pairs of six fields.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline

from sklfi import AFMClassifier
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldEncoder

X, y = make_planted_interaction(n_samples=6000, n_noise_fields=4, random_state=0)
model = make_pipeline(FieldEncoder(), AFMClassifier(random_state=0)).fit(X, y)
importances = model[-1].field_pair_importances_
print(importances.round(3))

# %%
# The same numbers as a symmetric field x field heatmap.
names = list(model[-1].field_names_)
grid = np.full((len(names), len(names)), np.nan)
for (a, b), weight in importances.items():
    i, j = names.index(a), names.index(b)
    grid[i, j] = grid[j, i] = weight
fig, ax = plt.subplots(figsize=(5, 4))
image = ax.imshow(grid, cmap="viridis")
ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
ax.set_yticks(range(len(names)), names)
fig.colorbar(image, label="mean attention weight")
ax.set_title("AFM field-pair importances")
fig.tight_layout()
plt.show()
