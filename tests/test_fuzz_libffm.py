"""Property-based fuzzing of ``load_libffm``: random file contents, read
whole and in chunks, with and without ``n_features`` and ``n_fields``.

A file of valid lines must load as a plain reading of it says (the
matrix, the labels, the field and kind of every column); anything bad in it
(a malformed token, a negative id, one beyond int64 or memory or the sizes
given, a byte that is not UTF-8, a feature under two fields, a bad size)
must end in a ValueError or TypeError raised by sklfi's own checks (see
``run`` in ``test_fuzz.py``), never in numpy's errors or a MemoryError.
"""

import numpy as np
import scipy.sparse as sp
from hypothesis import event, given, settings
from hypothesis import strategies as st

from sklfi.datasets import load_libffm
from tests.test_fuzz import FUZZ, run

N_FIELDS = 4  # a feature's field is its id modulo this, unless twisted

LABELS = ["1", "0", "-1", "0.25", "+1", "1e2"]
values = st.sampled_from(["1", "0", "0.5", "-2", "1e3", "1.0"])
# beyond int64, or so large that their columns fit in no machine's memory
huge = st.sampled_from([2**40, 10**15, 2**63 - 1, 2**63, 10**20])
garbage = st.sampled_from(
    ["a", "0:0", "0:0:x", "::", "1:2:3:4", "0:1:", ":1:1", "0x1:0:1", "1.5:0:1",
     "0:1e3:1", "#", "0:0:1,"]
)  # fmt: skip
not_utf8 = st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80abc"])


@st.composite
def entries(draw, noisy):
    """A ``field:feature:value`` token: ``(bytes, bad, (field, feature,
    value) or None)``; only good ones unless ``noisy``."""
    kind = "good"
    if noisy:
        kind = draw(st.sampled_from(["good"] * 8 + ["negative", "huge", "garbage"]))
    feature = draw(st.integers(0, 7))
    field = (feature + (draw(st.integers(0, 29)) == 0)) % N_FIELDS  # (twisted)
    value = draw(values)
    if kind == "good":
        return f"{field}:{feature}:{value}".encode(), False, (field, feature, value)
    if kind == "garbage":
        return draw(garbage).encode(), True, None
    bad = -draw(st.integers(1, 2**70)) if kind == "negative" else draw(huge)
    if draw(st.booleans()):
        return f"{bad}:{feature}:1".encode(), True, None
    return f"{field}:{bad}:1".encode(), True, None


@st.composite
def files(draw):
    """The bytes of a file, whether anything in it is bad, and its rows:
    ``(label, [(field, feature, value), ...])`` of every non-blank line."""
    content, bad, rows = [], False, []
    noisy = draw(st.booleans())  # (or all the files would be bad)
    for _ in range(draw(st.integers(0, 8))):
        sep = draw(st.sampled_from([b" ", b"\t", b"  "]))
        if draw(st.integers(0, 5)) == 0:  # a blank line
            content.append(draw(st.sampled_from([b"", b" ", b"\t "])))
            continue
        label = draw(st.sampled_from(LABELS + ["x"] if noisy else LABELS))
        tokens, row = [label.encode()], []
        bad |= label == "x"
        for token, wrong, entry in draw(st.lists(entries(noisy), max_size=5)):
            tokens.append(token)
            bad |= wrong
            row += [entry] if entry else []
        if noisy and draw(st.integers(0, 9)) == 0:  # a byte that is not UTF-8
            where = draw(st.integers(0, len(tokens)))
            tokens.insert(where, draw(not_utf8))
            bad = True
        content.append(sep.join(tokens))
        rows.append((float(label) if label != "x" else None, row))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = ending.join(content) + draw(st.sampled_from([ending, b""]))
    return data, bad, rows


def expected(rows, n_features, n_fields):
    """``(X, y, fields, kinds)`` as a plain reading of the rows says, or
    ``None`` where the reader must refuse them."""
    found = [(r, f, j, float(v)) for r, (_, row) in enumerate(rows) for f, j, v in row]
    field_of = {}
    for _, f, j, _ in found:
        if field_of.setdefault(j, f) != f:
            return None  # a feature under two fields
    top_feature = max(field_of, default=-1)
    top_field = max(field_of.values(), default=-1)
    if n_features is None:
        n_features = top_feature + 1
    if n_fields is None:
        n_fields = max(top_field + 1, int(n_features > 0))
    if top_feature >= n_features or top_field >= n_fields:
        return None
    X = np.zeros((len(rows), n_features))
    for r, _, j, v in found:
        X[r, j] += v
    index = np.array([field_of.get(j, 0) for j in range(n_features)], dtype=int)
    kinds = []
    for f in range(n_fields):
        per_row = [sum(1 for g, _, _ in row if g == f) for _, row in rows]
        odd = any(g == f and float(v) not in (0.0, 1.0) for _, g, _, v in found)
        kinds.append(
            "multi_valued" if max(per_row, default=0) > 1
            else "numeric" if odd and np.sum(index == f) == 1
            else "categorical"
        )  # fmt: skip
    return X, np.array([label for label, _ in rows]), index, tuple(kinds)


def check(out, want):
    X, y = out
    want_X, want_y, index, kinds = want
    assert X.shape == want_X.shape and len(X.fields) == X.shape[1]
    np.testing.assert_array_equal(X.tocsr().toarray(), want_X)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(X.fields, index)
    assert X.field_kinds == kinds
    assert X.field_names == tuple(f"field{f}" for f in range(len(kinds)))


def whole(path, **sizes):
    return lambda: load_libffm(path, **sizes)


def chunked(path, chunksize, **sizes):
    def action():
        chunks = list(load_libffm(path, chunksize=chunksize, **sizes))
        if not chunks:
            return "no chunk"
        first = chunks[0][0]
        for X, y in chunks:  # every chunk: the columns and fields of the file
            assert 0 < X.shape[0] == len(y) <= chunksize
            assert X.shape[1] == first.shape[1] and X._fields == first._fields
        stacked = sp.vstack([X.tocsr() for X, _ in chunks], format="csr")
        return type(first)._from_parts(stacked, first._fields), np.concatenate(
            [y for _, y in chunks]
        )

    return action


def positive(size) -> bool:
    return size is None or (type(size) is int and size > 0)


sizes = st.one_of(st.none(), st.integers(1, 10), st.sampled_from([0, -1, 1.5, True]))


@settings(FUZZ, max_examples=max(200, settings.default.max_examples))
@given(file=files(), n_features=sizes, n_fields=sizes, chunksize=st.integers(1, 4))
def test_random_files_through_load_libffm(
    tmp_path_factory, file, n_features, n_fields, chunksize
):
    content, bad, rows = file
    path = tmp_path_factory.mktemp("ffm") / "f.ffm"
    path.write_bytes(content)
    for given_sizes in ({}, dict(n_features=n_features, n_fields=n_fields)):
        want = None
        if not bad and all(positive(s) for s in given_sizes.values()):
            want = expected(
                rows, given_sizes.get("n_features"), given_sizes.get("n_fields")
            )
        event(f"{'with' if given_sizes else 'no'} sizes: {'loads' if want else 'bad'}")
        out = run(whole(path, **given_sizes))
        assert (out is None) == (want is None), (out, want)
        if want is not None:
            check(out, want)
        out = run(chunked(path, chunksize, **given_sizes))
        if want is None:
            assert out is None
        elif not rows:  # (a file of blank lines: no chunk to yield)
            assert out == "no chunk"
        else:
            check(out, want)
