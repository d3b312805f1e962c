"""A right receipt and an unknown one take the same time to answer."""

from __future__ import annotations

import statistics
import time

from crypto.receipt import Receipt
from tests.functional.pages import hidden_fields, receipt_from, submit_report

PAIRS = 25


def _timed_check(deployment, receipt: str) -> tuple[float, int]:
    client = deployment.client()
    page = client.get("/status").get_data(as_text=True)
    data = {**hidden_fields(page), "receipt": receipt}
    started = time.perf_counter()
    response = client.post("/status", data=data)
    return time.perf_counter() - started, response.status_code


def test_valid_and_unknown_receipts_are_indistinguishable_in_time(deployment, client):
    status, page = submit_report(client)
    valid = receipt_from(page)
    unknown = str(Receipt.generate())  # well-formed, belongs to no case
    right, wrong = [], []
    for _ in range(PAIRS):  # interleaved, so drift in machine load hits both alike
        elapsed, code = _timed_check(deployment, valid)
        assert code == 303
        right.append(elapsed)
        elapsed, code = _timed_check(deployment, unknown)
        assert code == 400
        wrong.append(elapsed)
    median_right, median_wrong = statistics.median(right), statistics.median(wrong)
    # Robust comparison: medians within 5 % of each other, and each median
    # inside the other sample's interquartile range.
    assert abs(median_right - median_wrong) <= 0.05 * median_wrong, (median_right, median_wrong)
    for median, sample in ((median_right, wrong), (median_wrong, right)):
        q1, _, q3 = statistics.quantiles(sample, n=4)
        assert q1 - 0.001 <= median <= q3 + 0.001, (median, q1, q3)
