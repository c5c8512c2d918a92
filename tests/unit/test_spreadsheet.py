"""The one CSV format of the studio's exports (app/spreadsheet.py)."""

import csv
import io

import pytest

from app import spreadsheet


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_excel_would_run_is_made_inert(text):
    assert spreadsheet.inert(text) == "'" + text


@pytest.mark.parametrize("text", ["小明", "a=b", "", "1-2"])
def test_other_text_is_left_alone(text):
    assert spreadsheet.inert(text) == text


def test_rows_come_a_few_hundred_at_a_time_and_read_back_whole():
    rows = [[n, f"读者{n}", '逗号,引号"换行\n'] for n in range(2 * spreadsheet.CHUNK_ROWS + 1)]
    chunks = list(spreadsheet.csv_chunks(iter(rows)))
    assert len(chunks) == 3
    read_back = list(csv.reader(io.StringIO("".join(chunks))))
    assert read_back == [[str(n), name, text] for n, name, text in rows]
    assert list(spreadsheet.csv_chunks([])) == []


def test_the_download_starts_with_a_bom_and_names_the_file(app):
    with app.test_request_context():
        response = spreadsheet.csv_download(["a,b\r\n"], "orders.csv")
        body = response.get_data()
    assert body == "\ufeffa,b\r\n".encode()
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="orders.csv"'
