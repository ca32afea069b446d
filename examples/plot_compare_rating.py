"""
Seven models on MovieLens-100K: rating prediction
=================================================

Train FM, FFM, AFM, Wide & Deep, DeepFM, NFM and DLRM to predict the rating
(1-5) on split u1 of MovieLens-100K and compare their test RMSE.

This example uses the 200 users with the smallest ids to run in a minute or
two; ``sklfi compare --task rating`` runs the full data (results page of the
documentation).
"""

from sklfi.compare import compare_models, plot_results

results = compare_models("rating", max_users=200, verbose=False)
print(results.round(4).to_string(index=False))
plot_results(results, "rating")
