"""Faust table definitions and the orjson codecs for per-contact state (RocksDB through rocksdict)."""
