"""A real Apache Kafka broker (KRaft, single node, loopback) fetched from Maven Central and run locally."""

from broker.exceptions import BrokerError
from broker.launcher import BrokerStatus, KafkaBroker

__all__ = ["BrokerError", "BrokerStatus", "KafkaBroker"]
