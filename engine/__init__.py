"""Switchyard's pure workflow engine: no I/O, no asyncio, no Faust.

Given (state, event, definitions, event time) it returns (new state, actions, timers, trace).
Every other package adapts it.
"""
