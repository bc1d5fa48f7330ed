"""The error the algorithms raise when the observed history is too short for them.

The assets catch it and report the asset as skipped (``metadata.skipped_for_short_history``): a
young shop is a normal state that fixes itself as days arrive, not a failure to page anyone about.
"""

from __future__ import annotations


class NotEnoughHistory(ValueError):
    """``what`` needs ``need_days`` days of observed history and only ``have_days`` are there."""

    def __init__(self, what: str, have_days: int, need_days: int):
        self.what, self.have_days, self.need_days = what, have_days, need_days
        super().__init__(f"not enough history for {what}: have {have_days} days, need {need_days}")
