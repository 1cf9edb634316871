"""load_csv under hostile files (issue 13, items 4, 5, 14)."""
import re
import time

import numpy as np
import pytest

from deeplite.data import DataError, load_csv, load_features_csv, load_npz


def _write(tmp_path, text: str, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, newline="")
    return path


# ---- item 4: finiteness in the dtype the data is stored in ---------------------------------
@pytest.mark.parametrize("cell", ["1e39", "-3.5e38", "1e308"])
def test_a_value_beyond_float32_is_refused(tmp_path, cell):
    path = _write(tmp_path, f"a,b,y\n1,2,0\n3,{cell},1\n")
    with pytest.raises(DataError, match=f"line 3, column 'b': '{cell}' is beyond float32's range"):
        load_csv(path)


def test_float32_max_itself_is_accepted(tmp_path):
    path = _write(tmp_path, "a,y\n3.4e38,0\n-3.4e38,1\n")
    assert np.isfinite(load_csv(path).x).all()


def test_npz_features_beyond_float32_are_refused(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.array([[1.0, 2.0], [1e39, 0.0]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match="row 1, column 0: 1e\\+39 is beyond float32's range"):
        load_npz(path)


# ---- item 5: the csv module over the file object ----------------------------------------------
def test_an_unterminated_quote_is_an_error_not_one_giant_cell(tmp_path):
    rows = "".join(f"{i},{i},0\n" for i in range(5))
    path = _write(tmp_path, 'a,b,y\n1,"2,0\n' + rows)
    with pytest.raises(DataError, match="line 2: a quoted cell is never closed"):
        load_csv(path)


@pytest.mark.parametrize("separator", ["\u2028", "\x85", "\x0c", "\u2029", "\x1c"])
def test_unicode_line_separators_are_text_not_line_breaks(tmp_path, separator):
    """str.splitlines broke rows at these; a CSV ends rows at \\n, \\r and \\r\\n only."""
    path = _write(tmp_path, f'a,b,label\n1,2,"x{separator}y"\n3,4,z\n5,6,z\n')
    table = load_csv(path)
    assert len(table) == 3 and table.classes == [f"x{separator}y", "z"]
    path = _write(tmp_path, f"a,b,y\n1,2,0{separator}\n3,x,1\n5,6,0\n")
    with pytest.raises(DataError, match="line 3, column 'b'"):  # the right line number
        load_csv(path)


def test_quoted_line_breaks_keep_line_numbers_right(tmp_path):
    path = _write(tmp_path, 'a,b,label\n1,2,"two\nlines"\n3,4,z\n5,x,z\n')
    with pytest.raises(DataError, match="line 5, column 'b': cannot read 'x'"):
        load_csv(path)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_usual_line_ending(tmp_path, newline):
    path = _write(tmp_path, newline.join(["a,b,y", "1,2,0", "3,4,1", "5,6,0"]) + newline)
    table = load_csv(path)
    np.testing.assert_array_equal(table.x, [[1, 2], [3, 4], [5, 6]])


def test_byte_order_mark_and_blank_lines(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf\na,b,y\n1,2,0\n\n3,4,1\n")
    table = load_csv(path)
    assert table.feature_names == ["a", "b"] and len(table) == 2


# ---- item 14: CSV details -----------------------------------------------------------------
@pytest.mark.parametrize("text, line, cell", [
    ("a,y\n1,yes\n2,no\n3,7\n4,no\n", 4, "'7' among text labels"),
    ("a,y\n1,0\n2,1\n3,maybe\n4,1\n", 4, "'maybe' among numbers"),
    ("a,y\n1,yes\n2,\n3,no\n", 3, "empty cell (missing label)"),
])
def test_a_mixed_label_column_names_the_offending_line(tmp_path, text, line, cell):
    with pytest.raises(DataError, match=re.escape(f"line {line}, column 'y': {cell}")):
        load_csv(_write(tmp_path, text))


@pytest.mark.parametrize("cell", ["1_000", "\u0661\u0662", "\uff11", "\u00b2", "0x10", "1,5"])
def test_only_ascii_decimal_literals_are_numbers(tmp_path, cell):
    path = _write(tmp_path, f'a,b,y\n1,2,0\n3,"{cell}",1\n')
    with pytest.raises(DataError, match="line 3, column 'b': cannot read"):
        load_csv(path)


@pytest.mark.parametrize("cell, value", [("-1.5e3", -1500.0), (".5", 0.5), ("+2.", 2.0),
                                         (" 7 ", 7.0), ("1E-2", 0.01)])
def test_ordinary_numbers_still_read(tmp_path, cell, value):
    table = load_csv(_write(tmp_path, f"a,y\n{cell},0\n1,1\n"))
    assert table.x[0, 0] == np.float32(value)


def test_reading_named_columns_is_linear_in_the_column_count(tmp_path):
    """40,000 columns took 19 s (a list search per column); now a dict lookup."""
    def file_with(columns):
        names = [f"c{j}" for j in range(columns)]
        path = _write(tmp_path, ",".join(names) + "\n" + ",".join(["1"] * columns) + "\n",
                      name=f"wide{columns}.csv")
        return path, names

    timings = []
    for columns in (4000, 16000):
        path, names = file_with(columns)
        started = time.process_time()
        x = load_features_csv(path, names[::-1])
        timings.append(time.process_time() - started)
        assert x.shape == (1, columns)
    # 4x the columns: linear is 4x the time, quadratic 16x. Generous bound for a busy machine.
    assert timings[1] < 10 * max(timings[0], 1e-3)
