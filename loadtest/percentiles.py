"""The one percentile rule of every benchmark here: nearest rank."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending, non-empty sequence: the smallest value with at
    least q % of the values at or below it. The rank is exact (q as written, not its binary float: 99.9 % of
    1,000 values is rank 999, where ``99.9 / 100 * 1000`` gives 999.0000000000001 and so rank 1,000)."""
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    rank = max(1, math.ceil(Fraction(str(q)) * len(sorted_values) / 100))
    return sorted_values[rank - 1]
