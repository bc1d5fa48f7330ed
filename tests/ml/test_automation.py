"""When the churn model retrains."""

from __future__ import annotations

import datetime as dt

from ml_assets.automation import RetrainState, retrain_reasons

D = dt.date(2026, 5, 1)


def test_no_champion_means_train():
    assert retrain_reasons(RetrainState(None, None, D, None, None)) == ["no champion model yet"]


def test_nothing_new_means_no_retrain():
    assert retrain_reasons(RetrainState("3", D, D, 0.05, "3")) == []


def test_drift_against_the_champion_triggers():
    reasons = retrain_reasons(RetrainState("3", D, D, 0.4, "3"))
    assert len(reasons) == 1 and reasons[0].startswith("feature drift")
    # drift measured against an older champion does not count twice
    assert retrain_reasons(RetrainState("4", D, D, 0.4, "3")) == []


def test_enough_new_data_triggers():
    reasons = retrain_reasons(RetrainState("3", D - dt.timedelta(days=14), D, 0.0, "3"))
    assert reasons == ["14 days of new data since the champion's training"]
    assert retrain_reasons(RetrainState("3", D - dt.timedelta(days=13), D, 0.0, "3")) == []


def test_no_data_no_request():
    assert retrain_reasons(RetrainState(None, None, None, None, None)) == []
