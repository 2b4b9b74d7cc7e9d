"""Every SQL example in the README and docs/ runs, and prints what the docs say it prints.

A ```sql block is run with psql, the way a user would paste it, in a database of its own per
document (with rfm_segment and the CDNOW purchases as cdnow_orders); the blocks of one document
run in order, so a later example can use the table an earlier one made. When a block is followed
directly by a plain ``` block, that block is the expected output (psql's aligned format; an
error shows as psql prints it, without the "psql:<stdin>:N:" location).
"""
import re

import pytest

from conftest import ROOT, connect, fresh_database, load_cdnow, psql

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```sql\n(.*?)```\n(?:```\n(.*?)```\n)?", re.S)


def examples(document):
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(document.read_text())]


def normalize(output):
    output = re.sub(r"^psql:<stdin>:\d+: ", "", output, flags=re.M)
    lines = [line.rstrip() for line in output.strip("\n").splitlines()]
    return [line for line in lines if not re.fullmatch(r"\(\d+ rows?\)", line)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_sql_examples_run_and_print_what_the_docs_say(database, document):
    blocks = examples(document)
    assert blocks, f"{document.name} has no SQL examples"
    dbname = "rfm_docs"
    fresh_database(dbname)
    with connect(dbname) as conn:
        conn.execute("CREATE EXTENSION rfm_segment")
    load_cdnow(dbname)
    for sql, expected in blocks:
        shows_error = expected is not None and expected.lstrip().startswith("ERROR")
        actual = psql(dbname, sql=sql, check=not shows_error)
        if expected is not None:
            assert normalize(actual) == normalize(expected), f"in {document.name}:\n{sql}"
        else:
            assert "ERROR" not in actual, f"in {document.name}:\n{sql}\n{actual}"
