"""
What to watch next: train a next-movie model and recommend
==========================================================

Each user's last movie of MovieLens-100K is held out; an FM learns from the
earlier watch events, each paired with 4 random movies as negatives, whose
features include the user's 20 latest movies and the last one. It then
ranks every movie the user has not watched, next to the baselines most
popular and EASE, and :func:`~sklfi.ranking.recommend` lists what each user
should watch next.
"""

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from sklfi import FMClassifier
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures
from sklfi.ranking import (
    EASE,
    MostPopular,
    full_ranks,
    item_scores,
    leave_last_out,
    ranking_metrics,
    recommend,
    sample_negatives,
)

ml = load_movielens_100k()
movies = ml["items"].item_id.sort_values().to_numpy()
train, test = leave_last_out(ml.ratings)

# %%
# The features are fitted on the real events and frozen, so that the
# negatives never enter a history.
features = MovieLensFeatures(
    ml.users,
    ml["items"],
    groups=["user_id", "gender", "age_bucket", "occupation", "item_id", "genres",
            "decade", "history", "last_item", "user_genre_share"],
    max_history=20,
).fit(train)  # fmt: skip
model = make_pipeline(
    FrozenEstimator(features),
    FMClassifier(weight_decay=0.03, max_epochs=3, random_state=0),
)
model.fit(*sample_negatives(train, items=movies, random_state=0))

# %%
# Rank each held-out movie among the movies its user has not watched.
scores = {
    "Most popular": MostPopular().fit(train, movies).score(test.user_id),
    "EASE": EASE().fit(train, movies).score(test.user_id),
    "FM": item_scores(model, test, movies),
}
table = pd.concat(
    {
        name: ranking_metrics(full_ranks(s, test, movies, exclude=train)).loc["hr@10"]
        for name, s in scores.items()
    },
    axis=1,
).T
print(table.round(3))

fig, ax = plt.subplots(figsize=(5, 3))
errors = [table.value - table.low, table.high - table.value]
ax.bar(table.index, table.value, yerr=errors, capsize=4,
       color=["#999999", "#999999", "#4c72b0"])  # fmt: skip
ax.set_ylabel("HR@10 (95% interval)")
ax.set_title("Next movie, MovieLens-100K")
fig.tight_layout()

# %%
# Recommend: the five best movies user 1 and user 2 have not watched.
top = recommend(model, [1, 2], k=5)
titles = ml["items"].set_index("item_id")["title"]
print(top.assign(title=titles.loc[top.item_id].to_numpy()).to_string(index=False))
plt.show()
