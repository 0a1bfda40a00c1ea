"""Switchyard's front door: the command line, settings and the local Kafka broker launcher."""
