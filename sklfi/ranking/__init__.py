"""Next-item recommendation: training pairs and evaluation by ranking.

The task: from a user's time-ordered watch history, predict the next movie.
Each watch event ``(user_id, item_id, timestamp)`` is a positive example of
"this user, at this moment, watches this movie next", with the history as of
that moment as context (see :class:`~sklfi.preprocessing.MovieLensFeatures`).

1. :func:`leave_last_out` holds out each user's last events for testing;
2. :func:`sample_negatives` pairs every training event with random movies the
   user did not watch next, labelled 0, to train any sklfi classifier;
3. :func:`item_scores` scores every movie for each test event, and
   :func:`full_ranks` ranks the true next movie among them, the movies the
   user watched before left out; :func:`ranking_metrics` summarises the
   ranks with bootstrap intervals, next to the baselines :class:`MostPopular`,
   :class:`ItemKNN` and :class:`EASE`;
4. :func:`recommend` lists the top movies for users.

Fit the feature transformer on the real events and freeze it in the
pipeline, so that the negatives never enter the history::

    features = MovieLensFeatures(users, items).fit(train)
    model = make_pipeline(FrozenEstimator(features), FMClassifier())
    model.fit(*sample_negatives(train, random_state=0))
    scores = item_scores(model, test, movies)
    ranking_metrics(full_ranks(scores, test, movies, exclude=train))
"""

from ._baselines import EASE, ItemKNN, MostPopular
from ._protocol import full_ranks, leave_last_out, ranking_metrics, sample_negatives
from ._scoring import item_scores, recommend, score_candidates

__all__ = [
    "EASE",
    "ItemKNN",
    "MostPopular",
    "full_ranks",
    "item_scores",
    "leave_last_out",
    "ranking_metrics",
    "recommend",
    "sample_negatives",
    "score_candidates",
]
