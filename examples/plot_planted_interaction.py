"""
An interaction a linear model cannot see
========================================

An ad is clicked when publisher and advertiser belong to the same hidden
group (fashion advertisers on fashion magazines). Neither column alone tells
anything about the click, so a logistic regression on the one-hot columns
scores at chance. A Factorization Machine learns a vector per publisher and
per advertiser, and their inner product recovers the rule, even for
(publisher, advertiser) pairs that never appeared together in training.
"""

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklfi import FFMClassifier, FMClassifier
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldEncoder

X, y = make_planted_interaction(n_samples=8000, random_state=0)
# Hold out every pair of the first four publishers and advertisers.
unseen = X.publisher.isin(["pub0", "pub1", "pub2", "pub3"]) & X.advertiser.isin(
    ["adv0", "adv1", "adv2", "adv3"]
)
train = ~unseen & (X.index < 6000)
test_seen = ~unseen & (X.index >= 6000)

to_csr = FunctionTransformer(lambda X: X.tocsr(), accept_sparse=True)
models = {
    "logistic regression": make_pipeline(FieldEncoder(), to_csr, LogisticRegression()),
    "FM": make_pipeline(FieldEncoder(), FMClassifier(random_state=0)),
    "FFM": make_pipeline(FieldEncoder(), FFMClassifier(random_state=0)),
}
scores = {}
for name, model in models.items():
    model.fit(X[train], y[train])
    scores[name] = [
        roc_auc_score(y[rows], model.predict_proba(X[rows])[:, 1])
        for rows in (test_seen, unseen)
    ]
    print(
        f"{name:20s} AUC seen pairs {scores[name][0]:.3f}, "
        f"unseen pairs {scores[name][1]:.3f}"
    )

# %%
fig, ax = plt.subplots(figsize=(6, 3))
width = 0.25
for k, (name, (seen, new)) in enumerate(scores.items()):
    ax.bar([0 + k * width, 1 + k * width], [seen, new], width, label=name)
ax.set_xticks([width, 1 + width], ["test rows, pairs seen", "pairs never seen"])
ax.axhline(0.5, color="grey", lw=0.8, ls="--")
ax.set_ylabel("ROC AUC")
ax.set_ylim(0.4, 1.0)
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()
