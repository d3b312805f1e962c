"""A right receipt and an unknown one take the same time to answer."""

from __future__ import annotations

import statistics
import time

from app import create_app
from crypto.receipt import Receipt
from tests.functional.conftest import Deployment, make_settings
from tests.functional.pages import hidden_fields, receipt_from, submit_report

PAIRS = 25
ROUNDS = 4


def _timed_check(deployment, receipt: str) -> tuple[float, int]:
    client = deployment.client()
    page = client.get("/status").get_data(as_text=True)
    data = {**hidden_fields(page), "receipt": receipt}
    started = time.perf_counter()
    response = client.post("/status", data=data)
    return time.perf_counter() - started, response.status_code


def _round(deployment, valid: str, unknown: str) -> str | None:
    """One round of interleaved checks: None if the two are indistinguishable,
    else which one answered faster."""
    right, wrong = [], []
    for _ in range(PAIRS):  # interleaved, so drift in machine load hits both alike
        elapsed, code = _timed_check(deployment, valid)
        assert code == 303
        right.append(elapsed)
        elapsed, code = _timed_check(deployment, unknown)
        assert code == 400
        wrong.append(elapsed)
    median_right, median_wrong = statistics.median(right), statistics.median(wrong)
    faster = "valid" if median_right < median_wrong else "unknown"
    # Robust comparison: medians within 5 % of each other, and each median
    # inside the other sample's interquartile range.
    if abs(median_right - median_wrong) > 0.05 * median_wrong:
        return faster
    for median, sample in ((median_right, wrong), (median_wrong, right)):
        q1, _, q3 = statistics.quantiles(sample, n=4)
        if not q1 - 0.001 <= median <= q3 + 0.001:
            return faster
    return None


def test_valid_and_unknown_receipts_are_indistinguishable_in_time(deployment, client):
    """A real difference shows in every round, in the same direction; a burst
    of load on a busy machine hits one round. The test fails only when all
    ROUNDS agree that one kind is faster.

    False-failure rate: if a round on a busy machine wrongly finds a
    difference with probability p (one failure was seen in CI with a single
    round, so take p <= 0.1, p/2 per direction), rounds spaced in time fail
    the same way together with probability 2 * (p/2) ** ROUNDS <= 1.3e-5
    for ROUNDS = 4. A real leak of 5 % or more still fails every round. Only
    the first round runs when it finds nothing, so a healthy run costs one.
    """
    status, page = submit_report(client)
    _assert_indistinguishable(deployment, receipt_from(page))


def test_with_two_costs_in_use_a_receipt_of_the_old_cost_takes_as_long_as_an_unknown_one(
    deployment, client
):
    """After a change of cost, every check derives with both costs: a receipt
    found with the first one must not answer sooner than one found by none."""
    status, page = submit_report(client)
    old_receipt = receipt_from(page)
    settings = deployment.settings
    new = make_settings(
        settings.database_url,
        settings.data_dir,
        secret_key=settings.secret_key,
        tenant_salt=settings.tenant_salt.hex(),
        signing_seed=settings.signing_seed.hex(),
        kdf_time_cost=2,
        kdf_memory_kib=64,
    )
    app = create_app(new, {"TESTING": True})
    try:
        second = Deployment(app, new, deployment.engine, deployment.desk_keys)
        assert len(app.extensions["visselpipa.intake"].receipt_costs()) == 2
        _assert_indistinguishable(second, old_receipt)
    finally:
        app.extensions["visselpipa.engine"].dispose()


def _assert_indistinguishable(deployment, valid: str) -> None:
    unknown = str(Receipt.generate())  # well-formed, belongs to no case
    verdicts = []
    for _ in range(ROUNDS):
        verdict = _round(deployment, valid, unknown)
        if verdict is None or (verdicts and verdict != verdicts[0]):
            return  # indistinguishable, or the differences disagree: noise
        verdicts.append(verdict)
    raise AssertionError(f"{ROUNDS} rounds of {PAIRS} pairs: the {verdicts[0]} receipt was faster")
