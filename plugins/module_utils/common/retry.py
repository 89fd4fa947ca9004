# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one retry loop: bounded attempts (and optionally time), full-jitter exponential backoff.

Only ``Transient`` errors are retried; every other error, and the last ``Transient`` once the attempts or
the time budget run out, is raised as it is. Sleep, clock and the random source are injectable, so
tests run the loop without waiting.
"""

from __future__ import annotations

import dataclasses
import random
import time
import typing

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import Transient


@dataclasses.dataclass
class Retry:
    """A retry policy; ``call(operation)`` runs operation() under it.

    attempts: calls in all (at least 1); base, cap: the backoff window is uniform(0, min(cap, base * 2**n))
    before retry n (full jitter spreads the retries of concurrent clients); budget: seconds after which no
    further attempt starts (None: no limit). A server's Retry-After (``Transient.retry_after``) is honoured,
    capped at ``cap``. retries: how many retries calls made so far.
    """

    attempts: int
    base: float = 0.5
    cap: float = 8.0
    budget: float = None
    sleep: typing.Callable = time.sleep
    clock: typing.Callable = time.monotonic
    uniform: typing.Callable = random.uniform
    retries: int = dataclasses.field(default=0, init=False)

    def __post_init__(self):
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")

    def delay(self, retry_number, retry_after=None):
        """Seconds to wait before retry number retry_number (0 for the first retry)."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.cap)
            except (TypeError, ValueError):
                pass
        return self.uniform(0, min(self.cap, self.base * 2 ** retry_number))

    def call(self, operation):
        """operation()'s result; retries it while it raises Transient, within the attempts and the budget.

        The error that ends the loop gets ``attempts``: how many calls were made.
        """
        started = self.clock()
        number = 0
        while True:
            number += 1
            try:
                return operation()
            except Transient as error:
                out_of_time = self.budget is not None and self.clock() - started > self.budget
                if number >= self.attempts or out_of_time:
                    error.attempts = number
                    raise
                self.retries += 1
                self.sleep(self.delay(number - 1, error.retry_after))
