"""Predictive scoring with River: features, online models, best send time, channel choice."""
