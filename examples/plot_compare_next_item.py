"""
Seven models on MovieLens-100K: the next movie
==============================================

For every user, hold out the last movie watched; train each model on the
earlier watch events, each paired with 4 random movies as negatives, with the
user's history as of each event among the features; then rank the held-out
movie among all 1,682 movies. Lower mean rank is better; HR@10 and NDCG@10
count the hits in the top 10.

This example uses 100 users and 2 epochs; ``sklfi compare --task next-item``
runs the full data.
"""

from sklfi.compare import compare_models, plot_results

results = compare_models("next-item", max_users=100, epochs=2, verbose=False)
print(results.round(4).to_string(index=False))
plot_results(results, "next-item")
