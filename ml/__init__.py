"""Predictive scoring with River: features, online models, best send time, channel choice.

Modules, one job each:
- ``activity``: which events are the contact's own activity, and their feature groups;
- ``clock``: local hour of the week in a contact's timezone;
- ``decay``: exponentially decayed counters as plain data;
- ``state``: the per-contact ml-state and how an event folds into it;
- ``features``: pure feature extraction from (profile, ml-state, event time);
- ``labels``: late labels: pending snapshots, their release, the ml wake-up timer;
- ``models``: River pipelines and the worker's ModelSet;
- ``scoring``: ``Scorer.observe``: the per-event integration point, threshold crossings with hysteresis;
- ``checkpoint``: atomic pickles of a ModelSet under ``<data dir>/ml/``;
- ``send_time``: hour-of-week engagement, population prior, ``best_send_time``, ranked hours;
- ``bandit``: Thompson sampling over channels per segment, deterministic per-contact picks;
- ``trials``: sends waiting for their outcomes, closed into bandit rewards;
- ``hints``: the per-contact hints the engine reads (best send hours, channel);
- ``recommend``: plain suggestions with numbers from per-node funnel figures;
- ``rows``: rows for the analytics ``predictions`` table;
- ``metrics``: exact ROC AUC.

Imports: the engine's pure modules only (types, profile, actions) plus River; no Faust, no Kafka, no
clocks.
"""
