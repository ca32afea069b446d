"""
Seven models on MovieLens-100K: "rating >= 4" as a click
========================================================

The CTR view of MovieLens: a rating of 4 or 5 is a positive. Compare the
test ROC AUC and log loss of the seven models on split u1.

This example uses the 200 users with the smallest ids; ``sklfi compare
--task ctr`` runs the full data.
"""

from sklfi.compare import compare_models, plot_results

results = compare_models("ctr", max_users=200, verbose=False)
print(results.round(4).to_string(index=False))
plot_results(results, "ctr")
