from tests.agents.fixtures import worker_factory

__all__ = ["worker_factory"]
