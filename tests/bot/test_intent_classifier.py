from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from bot.components.intent_classifier import intent_class_weights

COUNTS = {"ask_policy": 1676, "request_deletion": 73, "greet": 73, "out_of_scope": 143}


def test_power_one_is_sklearns_balanced_weighting() -> None:
    labels = [intent for intent, n in COUNTS.items() for _ in range(n)]
    classes = np.array(sorted(COUNTS))
    balanced = compute_class_weight("balanced", classes=classes, y=labels)
    weights = intent_class_weights(COUNTS, 1.0)
    assert [weights[c] for c in classes] == pytest.approx(list(balanced))


def test_power_zero_weighs_every_example_alike() -> None:
    assert list(intent_class_weights(COUNTS, 0.0).values()) == pytest.approx([1.0] * len(COUNTS))


@pytest.mark.parametrize("power", [0.25, 0.5, 0.75])
def test_partial_weighting_keeps_the_total_and_the_order(power: float) -> None:
    weights = intent_class_weights(COUNTS, power)
    assert sum(COUNTS[i] * w for i, w in weights.items()) == pytest.approx(sum(COUNTS.values()))
    assert weights["ask_policy"] < weights["out_of_scope"] < weights["greet"]
    assert weights["ask_policy"] > intent_class_weights(COUNTS, 1.0)["ask_policy"]
