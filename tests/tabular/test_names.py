from keras_nnperf.tabular.names import name_list, names_by_value


def test_name_list_shows_ten_names_and_counts_the_rest():
    assert name_list(["a"]) == "a"
    assert name_list(list("abcdefghijk")) == "a, b, c, d, e, f, g, h, i, j, k"  # 11: all
    assert name_list(list("abcdefghijkl")) == "a, b, c, d, e, f, g, h, i, j and 2 more (12 in all)"
    assert name_list(["a", "b"], quote=repr, shown=1) == "'a', 'b'"
    assert names_by_value({"a": "x", "b": "y", "c": "x"}) == {"x": ["a", "c"], "y": ["b"]}
