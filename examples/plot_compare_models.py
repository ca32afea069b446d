"""
Seven models on MovieLens-100K: ratings, clicks and the next movie
==================================================================

``sklfi compare`` trains FM, FFM, AFM, Wide & Deep, DeepFM, NFM and DLRM on
one of three tasks and tabulates their test scores; the same job is the
function :func:`~sklfi.compare.compare_models`:

* ``rating``: predict the rating (1-5) on split u1, scored by RMSE, next to
  the baseline "mean rating" (the mean training rating for every row);
* ``ctr``: a rating of 4 or 5 is a click, scored by ROC AUC and log loss,
  next to "base rate" (the training share of clicks for every row);
* ``next-item``: hold out each user's last movie, train on the earlier watch
  events (each paired with 4 random movies as negatives, with the user's
  recent history and last movie among the features) and rank the held-out
  movie among the movies the user has not watched: HR@10, NDCG@10, MRR and
  mean rank with bootstrap intervals, next to the baselines most popular,
  item-kNN and EASE.

The charts draw the baselines in grey, with a dashed line at the first, and
start at zero: a model's gain reads against the baseline's.

To run in a few minutes this example keeps the users with the smallest ids;
``sklfi compare --task rating`` (or
``ctr``, ``next-item``) runs the full data, as on the results page.
"""

import matplotlib.pyplot as plt

from sklfi.compare import compare_models, plot_results

runs = {
    "rating": dict(max_users=200),
    "ctr": dict(max_users=200),
    "next-item": dict(max_users=100),
}
for task, subset in runs.items():
    results = compare_models(task, verbose=False, **subset)
    print(f"task {task}:\n{results.round(4).to_string(index=False)}\n")
    plot_results(results, task)
plt.show()
