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
- ``send_time``: hour-of-week engagement, population prior, ``best_send_time``;
- ``bandit``: Thompson sampling over channels per segment;
- ``recommend``: plain suggestions with numbers from per-node funnel figures;
- ``rows``: rows for the analytics ``predictions`` table;
- ``metrics``: exact ROC AUC.

Imports: engine.types only (plus River); no Faust, no Kafka, no clocks.
"""
