"""The machine's CSV reader for rows of the plain shape, held to pyarrow's reader.

Whatever slice the fast path accepts must read exactly as pyarrow's typed reader reads it (the
same values, nulls and types); whatever it refuses goes to pyarrow, so a slice pyarrow refuses must
be refused here too.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_kb.district.plaincsv import plain_table
from policy_kb.district.roster import _spellings
from policy_kb.policy.profile import NO_WORDS, YES_WORDS

YES, NO = _spellings(YES_WORDS), _spellings(NO_WORDS)
HEADER = ["n", "flag", "name", "town"]
TYPES = {
    "n": pa.float64(),
    "flag": pa.bool_(),
    "name": pa.string(),
    "town": pa.dictionary(pa.int32(), pa.string()),
}


def _pyarrow(data: bytes, header=HEADER, types=TYPES) -> pa.Table | None:
    convert = pacsv.ConvertOptions(
        null_values=[""],
        true_values=YES,
        false_values=NO,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        column_types=types,
    )
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=header),
            convert_options=convert,
        )
    except pa.ArrowInvalid:
        return None
    return table


def _same(plain: pa.Table, ref: pa.Table) -> bool:
    if plain.num_rows != ref.num_rows or plain.schema.names != ref.schema.names:
        return False
    for name in plain.schema.names:
        a, b = plain.column(name), ref.column(name)
        if pa.types.is_dictionary(a.type):  # the words may be numbered in another order
            a, b = a.cast(pa.string()), b.cast(pa.string())
        if a.type != b.type or a.to_pylist() != b.to_pylist():
            return False
        # -0.0 and 0.0 are equal in Python: compare their signs too
        if pa.types.is_floating(a.type):
            signs = [str(x) for x in a.to_pylist()], [str(x) for x in b.to_pylist()]
            if signs[0] != signs[1]:
                return False
    return True


@pytest.mark.parametrize(
    ("data", "plain"),
    [
        (b"12,true,Acme,\xe6\xb9\x96\xe5\xa1\x98\xe9\x95\x87\n-7,false,,X\n", True),
        (b"0,TRUE,a,b\r\n-0,False,c,b\r\n", True),  # CRLF; -0 is -0.0 as pyarrow reads it
        (b"123456789012345678,\xe6\x98\xaf,a,b", True),  # 18 digits, no final line end
        (b",,,\n", True),  # every cell empty: nulls
        (b"1.5,true,a,b\n-0.0,false,a,b\n1234567890.12345,true,a,b\n", True),  # decimals
        (b"1.,true,a,b\n", False),  # a decimal point with no digit after: pyarrow's
        (b".5,true,a,b\n", False),
        (b"1234567890.123456,true,a,b\n", False),  # 16 digits
        (b"1e3,true,a,b\n", False),
        (b"+1,true,a,b\n", False),
        (b" 1,true,a,b\n", False),
        (b"1234567890123456789,true,a,b\n", False),  # 19 digits
        (b"1,yes,a,b\n", False),  # a word the reader was not given
        (b'1,true,"a",b\n', False),  # a quote
        (b"1,true,a\rb,c\n", False),  # a bare CR
        (b"1,true,a,b\n\n2,true,a,b\n", False),  # an empty line (pyarrow skips it)
        (b"1,true,a\n", False),  # too few cells
        (b"1,true,a,b,c\n", False),  # too many
        (b"1,true,\xff\xfe,b\n", False),  # not UTF-8
        (b"1,true,\xed\xa0\x80,b\n", False),  # a surrogate
        (b"-,true,a,b\n", False),
        (b"\xef\xbb\xbf1,true,a,b\n", False),  # a byte-order mark first: pyarrow leaves it out
    ],
)
def test_the_plain_shape_and_what_is_left_to_pyarrow(data, plain):
    found = plain_table(pa.py_buffer(data), HEADER, TYPES, YES, NO)
    assert (found is not None) is plain
    if found is not None:
        ref = _pyarrow(data)
        assert ref is not None
        assert _same(found, ref)


CELLS = {
    "n": st.one_of(
        st.just(""),
        st.integers(-(10**19), 10**19).map(str),
        st.sampled_from(
            ["-0", "007", "1.0", "1e5", "-", "+3", " 4", "5 ", "0x10", "١٢", "1.", ".5", "\ufeff1"]
        ),
        st.decimals(
            min_value=-(10**12), max_value=10**12, places=3, allow_nan=False, allow_infinity=False
        ).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
    ),
    "flag": st.sampled_from(["", *YES, *NO, "yes", "TrUe", "1", "0", "t"]),
    "name": st.one_of(
        st.text(alphabet=st.characters(blacklist_characters=',"\r\n'), max_size=6),
        st.sampled_from(["\r", "a\rb", "é", "企业"]),
    ),
    "town": st.sampled_from(["", "湖塘镇", "牛塘镇", "X", "湖塘镇 "]),
}


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.fixed_dictionaries(CELLS), min_size=0, max_size=8),
    crlf=st.booleans(),
    last_end=st.booleans(),
)
def test_any_slice_reads_as_pyarrow_reads_it_or_is_left_to_it(rows, crlf, last_end):
    end = "\r\n" if crlf else "\n"
    text = end.join(",".join(r[h] for h in HEADER) for r in rows)
    if rows and last_end:
        text += end
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate: bytes pyarrow refuses
    found = plain_table(pa.py_buffer(data), HEADER, TYPES, YES, NO)
    if found is None:
        return  # pyarrow reads it, as before
    ref = _pyarrow(data)
    assert ref is not None, data
    assert _same(found, ref), data


def test_a_roster_of_the_plain_shape_and_the_same_with_quotes_give_the_same_answers(kb, tmp_path):
    """The same enterprises in a plain CSV (read by the machine) and with every cell quoted
    (read by pyarrow): the same answers, row for row."""
    from test_roster import generate_rows, write_csv

    rows = [
        {k: v for k, v in r.items() if not isinstance(v, float) or v.is_integer()}
        for r in generate_rows(kb, 400, seed=9)
    ]
    header = ["name", "town", *sorted({k for r in rows for k in r} - {"name", "town"})]
    plain = tmp_path / "plain.csv"
    write_csv(plain, rows, header)
    quoted = tmp_path / "quoted.csv"
    lines = plain.read_text(encoding="utf-8").splitlines()
    quoted.write_text(
        "\n".join(",".join(f'"{c}"' for c in line.split(",")) for line in lines) + "\n",
        encoding="utf-8",
    )
    a = kb.roster(plain, keep=True)
    b = kb.roster(quoted, keep=True)
    assert a.summary.statuses == b.summary.statuses
    assert a.frames[0].equals(b.frames[0])
