"""Low-level readers: encodings, French numbers, ragged or empty tables."""
import pytest

from etl.errors import InputError
from etl.readers import decode_text, parse_fr_number, read_table


def test_utf8_bom_and_trailing_empty_columns(tmp_path):
    p = tmp_path / "REVN_2022.csv"
    p.write_bytes("\ufeffCODGEO;LIBGEO;TP60;;;\r\nQP096001;Les Licornes;55,3;;;\r\n".encode("utf-8"))
    t = read_table(p)
    assert t.header == ["CODGEO", "LIBGEO", "TP60"]
    assert t.rows == [["QP096001", "Les Licornes", "55,3"]]
    assert t.lines == [2]


def test_cp1252_is_refused_with_file_and_line(tmp_path):
    p = tmp_path / "DEMO_2022.csv"
    p.write_bytes("CODGEO;LIBGEO\nQP096001;Cité des Chimères\n".encode("cp1252"))
    with pytest.raises(InputError) as e:
        read_table(p)
    msg = str(e.value)
    assert "DEMO_2022.csv" in msg and "ligne 2" in msg and "UTF-8" in msg


def test_cp1252_accepted_when_allowed(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("a;b\nété;1\n".encode("cp1252"))
    assert decode_text(p, allow_cp1252=True) == ("a;b\nété;1\n", "cp1252")


def test_empty_file(tmp_path):
    p = tmp_path / "vide.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="vide.csv.*vide"):
        read_table(p)


def test_duplicate_header_and_extra_cells(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("A;B;A\n1;2;3\n", encoding="utf-8")
    with pytest.raises(InputError, match="champ « A ».*double"):
        read_table(p)
    p.write_text("A;B\n1;2;3\n", encoding="utf-8")
    with pytest.raises(InputError, match="ligne 2"):
        read_table(p)


@pytest.mark.parametrize("raw,expected", [
    ("6 490", (6490.0, "ok")), ("55,3", (55.3, "ok")), ("-9,4", (-9.4, "ok")),
    ("1\u202f234,5", (1234.5, "ok")), ("", (None, "secret")), ("s", (None, "secret")),
    ("0", (0.0, "ok")),
])
def test_parse_fr_number(raw, expected):
    assert parse_fr_number(raw) == expected


def test_parse_fr_number_garbage_names_field():
    with pytest.raises(InputError) as e:
        parse_fr_number("12abc", "REVN_2022.csv", 7, "TP60")
    assert "REVN_2022.csv" in str(e.value) and "ligne 7" in str(e.value) and "TP60" in str(e.value)
