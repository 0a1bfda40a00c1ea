"""A real Apache Kafka broker (KRaft, single node, loopback) fetched from Maven Central and run locally."""

from switchyard.broker.exceptions import BrokerError
from switchyard.broker.launcher import BrokerStatus, KafkaBroker

__all__ = ["BrokerError", "BrokerStatus", "KafkaBroker"]
