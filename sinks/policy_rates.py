"""The workspace policy's send rates (engine/compile_policy.py), applied to the sinks' token buckets.

The policy lives in the workflow catalog topic under `#policy@<version>`; each sink process follows that
topic (tables/follower.py) and, whenever a newer policy arrives, sets each channel's bucket to the tighter
of the operator's rate (SWITCHYARD_SINK_RATE*) and the policy's. A policy without a rate for a channel
leaves the operator's rate; a policy that does not compile is logged and the previous one stays.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson

from engine.compile_policy import POLICY_KEY_PREFIX, load_policy
from engine.exceptions import EngineError
from engine.model import NO_POLICY, Policy
from sinks.ratelimit import TokenBucket
from tables.follower import TopicFollower

log = logging.getLogger(__name__)


def tighter(operator_rate: float, policy_rate: float | None) -> float:
    """Sends per second: the lower limit of the two (0 means no limit)."""
    if policy_rate is None:
        return operator_rate
    return policy_rate if operator_rate <= 0 else min(operator_rate, policy_rate)


class PolicyRates:
    def __init__(self, bootstrap: str, catalog_topic: str, buckets: Mapping[str, TokenBucket],
                 operator_rates: Mapping[str, float]) -> None:  # fmt: skip
        self.buckets = buckets
        self.operator_rates = operator_rates
        self.policy: Policy = NO_POLICY
        self.follower = TopicFollower(bootstrap, catalog_topic, self.apply)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        name = (key or b"").decode("utf-8", "replace")
        if not name.startswith(POLICY_KEY_PREFIX) or value is None:
            return
        try:
            policy = load_policy(orjson.loads(value), name)
        except (EngineError, orjson.JSONDecodeError) as exc:
            log.error("workspace policy %s left out: %s", name, exc)
            return
        if policy.version > self.policy.version:
            self.policy = policy
            self._set_rates()

    def _set_rates(self) -> None:
        rates = {rate.channel: rate.per_second for rate in self.policy.send_rates}
        for channel, bucket in self.buckets.items():
            bucket.rate = tighter(self.operator_rates.get(channel, 0.0), rates.get(channel))
            log.info("%s: %s sends/s (policy v%d)", channel, bucket.rate or "unlimited", self.policy.version)

    async def run(self) -> None:
        await self.follower.run()
