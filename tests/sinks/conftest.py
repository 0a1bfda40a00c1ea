from tests.sinks.fixtures import sink_settings

__all__ = ["sink_settings"]
