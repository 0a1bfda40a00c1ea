from tests.sinks.analytics.fixtures import chdb_path, fresh_database, store, writer_factory

__all__ = ["chdb_path", "fresh_database", "store", "writer_factory"]
