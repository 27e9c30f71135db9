"""Fault injection: what can go wrong between a client and RunSignup, on demand.

A ``Fault`` says what happens; ``FaultPlan.add`` says to which requests (an endpoint or
all, after skipping some, a number of times, or with a seeded probability). Rules are
checked in the order added; the first that fires wins. Everything is deterministic: a
schedule counts matching requests, a probability draws from its own seeded generator.
"""

from __future__ import annotations

import random
from typing import Literal

import attrs

__all__ = ["Fault", "FaultPlan", "FaultRule"]

FaultKind = Literal["status", "html", "reset_before", "reset_after", "slow", "truncated"]


@attrs.frozen
class Fault:
    """One misbehaviour. Build it with the class methods."""

    kind: FaultKind
    status_code: int = 200
    retry_after: float | None = None
    delay: float = 0.0

    @classmethod
    def status(cls, status: int, *, retry_after: float | None = None) -> Fault:
        """Answer ``status`` (e.g. 500/502/503) with a short text body; the handler never runs."""
        return cls("status", status_code=status, retry_after=retry_after)

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """Answer an HTML error page (a proxy's), also with ``status=200``; handler not run."""
        return cls("html", status_code=status)

    @classmethod
    def reset_before(cls) -> Fault:
        """Reset the connection before the handler runs: nothing was processed."""
        return cls("reset_before")

    @classmethod
    def reset_after(cls) -> Fault:
        """Run the handler, then reset the connection: processed, but no answer arrives."""
        return cls("reset_after")

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Wait ``delay`` seconds before handling the request normally."""
        return cls("slow", delay=delay)

    @classmethod
    def truncated(cls) -> Fault:
        """Run the handler, declare the full Content-Length, send half the body, close."""
        return cls("truncated")


@attrs.define
class FaultRule:
    """A fault with the requests it applies to; ``fired`` counts how often it did."""

    fault: Fault
    endpoint: str | None = None
    times: int | None = None
    skip: int = 0
    probability: float | None = None
    rng: random.Random | None = None
    seen: int = 0
    fired: int = 0

    def take(self, endpoint: str) -> bool:
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.rng is not None and self.probability is not None:
            drawn = self.rng.random()
            if drawn >= self.probability:
                return False
        self.fired += 1
        return True


class FaultPlan:
    """The active rules. Endpoint names: ``get-race-photo-albums``, ``get-race-photos``,
    ``vr-activities``, ``team-types``, ``race``, and ``images`` for the image origin."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(
        self,
        fault: Fault,
        *,
        endpoint: str | None = None,
        times: int | None = None,
        skip: int = 0,
        probability: float | None = None,
        seed: int = 0,
    ) -> FaultRule:
        """Apply ``fault`` to matching requests: the first ``skip`` pass untouched, then
        ``times`` fire (or all); with ``probability`` each candidate fires with that chance,
        drawn from a generator seeded with ``seed``."""
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        rng = random.Random(seed) if probability is not None else None
        rule = FaultRule(fault, endpoint, times, skip, probability, rng)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, endpoint: str) -> Fault | None:
        for rule in self.rules:
            if rule.take(endpoint):
                return rule.fault
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)
