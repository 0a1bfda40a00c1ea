"""Subcommands of the `switchyard` CLI, each a module with `register(subparsers)`."""
