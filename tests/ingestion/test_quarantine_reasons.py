"""Quarantine reasons name the real cause and the line, in full; files whose only oddity is `#`
comment lines load. The hostile files reproduce cases from CSV parser test suites."""

from __future__ import annotations

from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.defs.ingestion.files import scan_landing
from analytics_platform.defs.ingestion.loader import ingest

SHIFT_JIS_TEXT = "id,name,city\n1,a,b\n2,c,d\n3,東京,大阪\n"


def run(platform, files: dict[str, bytes]):
    for relative, content in files.items():
        path = platform.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with platform.warehouse.connect() as con:
        report = ingest(con, scan_landing(platform.landing, 0), load_contracts(), platform.settings.quarantine_dir, "r")
    reasons = {q["source_file"]: (q["reason_code"], q["reason"]) for q in report.quarantined.get("uncontracted", [])}
    loaded = {f["file"]: f["rows"] for f in report.loaded.get("uncontracted", [])}
    return reasons, loaded


def test_ragged_files_name_the_line_and_the_field_counts(platform):
    reasons, loaded = run(platform, {
        "short/a.csv": b"a,b,c\n1,2,3\n4,5,6\n7,8\n",  # line 4 is short
        "long_header/a.csv": b"a,b\n1,2,3\n4,5,6\n",  # every row has more fields than the header
        "narrow_header/a.csv": b"a\n1,2\n3,4\n",
    })
    assert not loaded, "no ragged file may load (the header line would be dropped, or rows lost)"
    assert reasons["short/a.csv"] == ("ragged_rows", "line 4 has 2 field(s) where the header has 3: '7,8'. Every line needs as many fields as the header")
    assert reasons["long_header/a.csv"][1].startswith("line 2 has 3 field(s) where the header (first line) has 2: '1,2,3'")
    assert reasons["narrow_header/a.csv"][1].startswith("line 2 has 2 field(s) where the header (first line) has 1")
    assert not any("records but" in reason for _, reason in reasons.values())


def test_a_value_with_an_embedded_crlf_is_quoted_in_full(platform):
    # The series' table took `story` as a number from the first file; the next file's first story
    # spans two lines (CRLF inside quotes).
    reasons, loaded = run(platform, {
        "stories/stories_1.csv": b"id,story\r\n1,2\r\n",
        "stories/stories_2.csv": b'id,story\r\n1,"Once upon \r\na time"\r\n2,"x"\r\n',
    })
    assert loaded == {"stories/stories_1.csv": 1}
    code, reason = reasons["stories/stories_2.csv"]
    assert code == "incompatible_schema"
    assert "column 'story' is VARCHAR here but BIGINT in the table" in reason
    assert "record 1's value 'Once upon \\r\\na time' is not a BIGINT" in reason


def test_a_shift_jis_file_is_named_not_utf8_with_its_line_and_encoding(platform):
    content = SHIFT_JIS_TEXT.encode("shift_jis")
    reasons, _ = run(platform, {"sjis/cities.csv": content})
    code, reason = reasons["sjis/cities.csv"]
    assert code == "undecodable"
    assert reason.startswith("The file is not UTF-8: line 4 holds the bytes 93 8c")
    assert "shift_jis" in reason and "Save it as UTF-8" in reason
    assert content.decode("shift_jis") == SHIFT_JIS_TEXT  # the named encoding does decode it


def test_comment_lines_load_when_they_are_the_only_oddity(platform):
    reasons, loaded = run(platform, {
        "notes/top.csv": b"# exported by a tool\n# units: mm\nx,y\n1,2\n3,4\n",
        "notes/middle.csv": b"x,y\n1,2\n# a note between the rows\n3,4\n5,6\n",
        "notes/quoted.csv": b'x,label\n1,"a"\n# a note\n2,"b, c"\n3,"d"\n4,"e"\n5,"f"\n',
    })
    assert not reasons, reasons
    assert loaded == {"notes/top.csv": 2, "notes/middle.csv": 3, "notes/quoted.csv": 5}
    assert platform.query('SELECT x, y FROM uncontracted."notes__middle" ORDER BY x') == [(1, 2), (3, 4), (5, 6)]
    assert platform.query('SELECT label FROM uncontracted."notes__quoted" ORDER BY x') == [("a",), ("b, c",), ("d",), ("e",), ("f",)]
