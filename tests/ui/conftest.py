from tests.agents.api.fixtures import api_worker

__all__ = ["api_worker"]
