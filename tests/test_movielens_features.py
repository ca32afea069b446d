"""MovieLensFeatures: groups, time order, leakage, unknown ids, pipelines."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import sklfi
from sklfi import FieldMatrix
from sklfi.preprocessing import MovieLensFeatures
from sklfi.preprocessing._movielens import GROUPS


@pytest.fixture(scope="module")
def small(movielens):
    """Ratings of 60 users, split in two halves of users' time-ordered rows."""
    r = movielens.ratings
    r = r[r.user_id <= 60].reset_index(drop=True)
    return r, movielens.users, movielens["items"], movielens.genres


def block(X, group):
    return X.tocsr()[:, np.flatnonzero(X.fields == X.field_names.index(group))]


def test_all_groups_by_default_in_order(small):
    r, users, items, genres = small
    X = MovieLensFeatures(users, items).fit_transform(r)
    assert isinstance(X, FieldMatrix)
    # every group but last_item (a next-item feature), user_items and
    # item_users (whole-data features), built when named
    opt_in = ("last_item", "user_items", "item_users")
    default = {g: kind for g, (_, kind) in GROUPS.items() if g not in opt_in}
    assert X.field_names == tuple(default)
    assert X.field_kinds == tuple(default.values())
    named = MovieLensFeatures(users, items, groups=list(GROUPS)).fit_transform(r)
    assert named.field_names == tuple(GROUPS)
    assert X.shape[0] == len(r)
    assert block(X, "user_genre_share").shape[1] == len(genres) == 19
    names = MovieLensFeatures(users, items).fit(r).get_feature_names_out()
    assert len(names) == X.shape[1]
    assert "gender=F" in names and "user_genre_rating=Drama" in names


def test_groups_follow_the_tables_available(small):
    r, users, items, _ = small
    no_side = MovieLensFeatures().fit_transform(r)
    assert no_side.field_names == ("user_id", "item_id", "history", "user_mean_rating")
    no_rating = MovieLensFeatures(users, items).fit_transform(r.drop(columns="rating"))
    assert "user_mean_rating" not in no_rating.field_names
    assert "user_genre_share" in no_rating.field_names
    with_y = MovieLensFeatures(groups=["user_mean_rating"]).fit(
        r.drop(columns="rating"), r.rating
    )
    assert with_y.groups_ == ("user_mean_rating",)


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_group_alone(small, group):
    r, users, items, _ = small
    X = MovieLensFeatures(users, items, groups=[group]).fit_transform(r)
    assert X.field_names == (group,)
    assert X.nnz > 0


def test_explicit_group_without_its_table_is_an_error(small):
    r, users, items, _ = small
    with pytest.raises(ValueError, match="'genres' needs the items table"):
        MovieLensFeatures(users, groups=["genres"]).fit(r)
    with pytest.raises(ValueError, match="needs a rating column"):
        MovieLensFeatures(groups=["user_mean_rating"]).fit(r.drop(columns="rating"))
    with pytest.raises(ValueError, match="unknown feature groups"):
        MovieLensFeatures(groups=["mood"]).fit(r)


def test_history_holds_exactly_the_earlier_movies(small):
    r, _, _, _ = small
    mlf = MovieLensFeatures(groups=["history"])
    H = block(mlf.fit_transform(r), "history")
    items = np.array([int(n.split("=")[1]) for n in mlf.get_feature_names_out()])
    rng = np.random.default_rng(0)
    for i in rng.choice(len(r), 40, replace=False):
        row = r.iloc[i]
        mine = r[(r.user_id == row.user_id) & (r.timestamp < row.timestamp)]
        got = H.getrow(i)
        assert sorted(items[got.indices]) == sorted(mine.item_id)
        if len(mine):
            np.testing.assert_allclose(got.data, 1 / len(mine))


def test_implicit_feedback_holds_every_movie_of_the_user_and_user_of_the_movie(
    movielens,
):
    r = movielens.ratings
    train, test = movielens.folds[0]
    seen = r.iloc[train]
    mlf = MovieLensFeatures(groups=["user_items", "item_users"])
    X_train = mlf.fit_transform(seen)
    rows = r.iloc[test[:20]]
    X = mlf.transform(pd.concat([rows, pd.DataFrame(
        {"user_id": [9999], "item_id": [99999], "timestamp": [0]})]))  # fmt: skip
    names = mlf.get_feature_names_out()
    for group, key, other in (("user_items", "user_id", "item_id"),
                              ("item_users", "item_id", "user_id")):  # fmt: skip
        ids = np.array([int(n.split("=")[1]) for n in names if n.startswith(group)])
        B = block(X, group)
        for i, row in enumerate(rows.itertuples()):
            mine = seen[getattr(seen, key) == getattr(row, key)][other].unique()
            got = B.getrow(i)
            assert sorted(ids[got.indices]) == sorted(mine)  # whatever the time
            np.testing.assert_allclose(got.data, 1 / np.sqrt(len(mine)))
        assert B.getrow(len(rows)).nnz == 0  # unknown user and movie
        # the same for the training rows, whose own movie (user) is included
        first = seen.iloc[0]
        got = block(X_train, group).getrow(0)
        assert getattr(first, other) in ids[got.indices]


def test_aggregates_equal_naive_computation(small):
    r, _, items, genres = small
    mlf = MovieLensFeatures(
        items=items,
        groups=["user_mean_rating", "user_genre_rating", "user_genre_share"],
    )
    X = mlf.fit_transform(r)
    mean, std = r.rating.mean(), r.rating.std(ddof=0)
    flags = items.set_index("item_id")[genres]
    rng = np.random.default_rng(1)
    for i in rng.choice(len(r), 30, replace=False):
        row = r.iloc[i]
        mine = r[(r.user_id == row.user_id) & (r.timestamp < row.timestamp)]
        expected = (mine.rating.mean() - mean) / std if len(mine) else 0.0
        assert block(X, "user_mean_rating")[i, 0] == pytest.approx(expected)
        g = flags.loc[mine.item_id].to_numpy()
        share = g.sum(0) / len(mine) if len(mine) else np.zeros(19)
        np.testing.assert_allclose(
            block(X, "user_genre_share")[[i]].toarray()[0], share, atol=1e-12
        )
        with np.errstate(invalid="ignore"):
            per_genre = (g * mine.rating.to_numpy()[:, None]).sum(0) / g.sum(0)
        np.testing.assert_allclose(
            block(X, "user_genre_rating")[[i]].toarray()[0],
            np.nan_to_num((per_genre - mean) / std),
            atol=1e-9,
        )


def test_no_row_sees_its_own_rating(small):
    r, users, items, _ = small
    X = MovieLensFeatures(users, items).fit_transform(r).tocsr()
    # swap the ratings of two rows of different users (the global mean and
    # spread stay the same): neither row's features move
    i, j = (
        5,
        int(np.flatnonzero((r.user_id != r.user_id[5]) & (r.rating != r.rating[5]))[0]),
    )
    swapped = r.copy()
    swapped.loc[[i, j], "rating"] = r.rating[[j, i]].to_numpy()
    X2 = MovieLensFeatures(users, items).fit_transform(swapped).tocsr()
    assert abs(X2[[i, j]] - X[[i, j]]).sum() == 0
    # transform never reads the ratings of the rows it transforms
    mlf = MovieLensFeatures(users, items).fit(r)
    permuted = r.assign(rating=np.random.default_rng(0).permutation(r.rating))
    assert abs(mlf.transform(permuted).tocsr() - mlf.transform(r).tocsr()).sum() == 0
    assert abs(mlf.transform(r.drop(columns="rating")).tocsr() - X).sum() == 0


def test_fit_on_one_split_transform_another(movielens):
    r = movielens.ratings
    train, test = movielens.folds[0]
    mlf = MovieLensFeatures(movielens.users, movielens["items"])
    X_train = mlf.fit_transform(r.iloc[train])
    X_test = mlf.transform(r.iloc[test])
    assert X_test.shape == (len(test), X_train.shape[1])
    np.testing.assert_array_equal(X_test.fields, X_train.fields)
    # a test row's history comes from the training ratings before it
    i = 0
    row = r.iloc[test[i]]
    seen = r.iloc[train]
    earlier = seen[(seen.user_id == row.user_id) & (seen.timestamp < row.timestamp)]
    assert block(X_test, "history").getrow(i).nnz == earlier.item_id.nunique()


def test_unknown_ids_and_missing_side_rows(small):
    r, users, items, _ = small
    mlf = MovieLensFeatures(users[users.user_id != 2], items[items.item_id != 50])
    X = mlf.fit_transform(r)
    row2 = np.flatnonzero(r.user_id == 2)[0]
    assert block(X, "gender")[row2].nnz == 0  # user 2 has no side row
    assert block(X, "user_id")[row2].nnz == 1
    new = pd.DataFrame(
        {"user_id": [999, 1], "item_id": [50, 99999], "timestamp": [0, 2_000_000_000]}
    )
    Xn = mlf.transform(new)
    assert Xn.shape == (2, X.shape[1])
    assert block(Xn, "user_id")[0].nnz == 0 and block(Xn, "history")[0].nnz == 0
    assert block(Xn, "item_id")[1].nnz == 0 and block(Xn, "genres")[1].nnz == 0
    assert block(Xn, "history")[1].nnz > 0  # user 1 at the end: all of its movies


def test_genres_as_lists_or_strings(small):
    r, users, items, genres = small
    flags = items[genres].to_numpy().astype(bool)
    as_list = items.drop(columns=genres).assign(
        genres=[list(np.array(genres)[f]) for f in flags]
    )
    as_str = as_list.assign(genres=as_list.genres.str.join("|"))
    base = MovieLensFeatures(items=items, groups=["genres"]).fit_transform(r)
    for table in (as_list, as_str):
        other = MovieLensFeatures(items=table, groups=["genres"]).fit_transform(r)
        assert abs(other.tocsr() - base.tocsr()).sum() == 0


def test_bad_input(small):
    r, _, _, _ = small
    with pytest.raises(ValueError, match="0 rows"):
        MovieLensFeatures().fit(r.iloc[:0])
    with pytest.raises(ValueError, match=r"lacks the columns \['timestamp'\]"):
        MovieLensFeatures().fit(r.drop(columns="timestamp"))
    with pytest.raises(TypeError, match="pandas DataFrame"):
        MovieLensFeatures().fit(r.to_numpy())


@pytest.mark.parametrize("model", list(sklfi.MODELS))
def test_composes_with_every_estimator(small, model):
    r, users, items, _ = small
    train, test = r.iloc[:2000], r.iloc[2000:3000]
    for regression, y in ((True, train.rating), (False, train.rating >= 4)):
        est = sklfi.MODELS[model].estimator(regression, max_epochs=1, random_state=0)
        pipe = make_pipeline(MovieLensFeatures(users, items), est).fit(train, y)
        assert pipe.predict(test).shape == (len(test),)
    if model == "dlrm":
        assert est.numeric_fields_ == (
            "age",
            "year",
            "user_mean_rating",
            "user_genre_rating",
            "user_genre_share",
        )


def test_grid_search_over_feature_groups(small):
    # the groups reach the transformer of every candidate, and its fields the
    # estimator; the refitted best model is the better of the two (the
    # demographics and history help on these users)
    r, users, items, _ = small
    pipe = make_pipeline(
        MovieLensFeatures(users, items), sklfi.FMRegressor(max_epochs=3, random_state=0)
    )
    few, more = ["user_id", "item_id"], ["user_id", "gender", "item_id", "history"]
    grid = {"movielensfeatures__groups": [few, more]}
    search = GridSearchCV(pipe, grid, cv=2, scoring="neg_root_mean_squared_error")
    search.fit(r.iloc[:3000], r.rating.iloc[:3000])
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[0] != scores[1]
    best = search.best_params_["movielensfeatures__groups"]
    assert best == [few, more][int(np.argmax(scores))]
    features, model = search.best_estimator_
    assert features.groups_ == model.field_names_ == tuple(best)


def test_the_newer_releases_movies_table(small):
    # movies.csv of the newer MovieLens releases: the year ends the title,
    # genres are one "A|B" string; no demographics
    r, _, items, genres = small
    flags = items[genres].to_numpy(bool)
    movies = pd.DataFrame(
        {
            "item_id": items.item_id,
            "title": items.title,  # "Toy Story (1995)"
            "genres": ["|".join(np.array(genres)[f]) for f in flags],
        }
    )
    X = MovieLensFeatures(items=movies).fit_transform(r)
    assert {"genres", "year", "decade"} <= set(X.field_names)
    decades = [n for n in X.feature_names if n.startswith("decade=")]
    assert "decade=1990" in decades
    # titles without a year: the year groups are left out (with groups=None)
    untitled = movies.assign(title="A movie")
    assert "year" not in MovieLensFeatures(items=untitled).fit(r).groups_
    with pytest.raises(ValueError, match="lack the columns for"):
        MovieLensFeatures(items=untitled, groups=["item_id", "year"]).fit(r)


def test_the_time_unit_does_not_matter(movielens):
    # nanoseconds (what datetime64 columns give as integers): for the 943
    # users a history keyed on raw times would pass 2**63 and read the
    # wrong past
    r = movielens.ratings
    groups = ["user_mean_rating"]
    seconds = MovieLensFeatures(groups=groups).fit_transform(r).tocsr()
    ns = r.assign(timestamp=r.timestamp * 10**9)
    nanoseconds = MovieLensFeatures(groups=groups).fit_transform(ns).tocsr()
    assert (seconds != nanoseconds).nnz == 0
