"""Pre-heated Voilà kernels: pool sizes and refill delay from the environment the hub gives each server."""

from __future__ import annotations

import pytest

from mindit_lib import voila_pool


def test_pool_sizes_default_and_from_the_environment():
    assert voila_pool.pool_sizes({}) == {"ma_commune.ipynb": 1}
    assert voila_pool.pool_sizes({"MINDIT_VOILA_POOLS": "{}"}) == {}
    assert voila_pool.pool_sizes({"MINDIT_VOILA_POOLS": '{"ma_commune.ipynb": 2, "carte.ipynb": 0}'}) == {
        "ma_commune.ipynb": 2, "carte.ipynb": 0}
    with pytest.raises(ValueError, match="MINDIT_VOILA_POOLS"):
        voila_pool.pool_sizes({"MINDIT_VOILA_POOLS": '{"ma_commune.ipynb": -1}'})


def test_refill_waits_until_the_first_page_is_built():
    # the hub passes "" when not configured: the module's default, longer than Voilà's own 1 s
    assert voila_pool.fill_delay({"MINDIT_VOILA_FILL_DELAY": ""}) == voila_pool.DEFAULT_FILL_DELAY == 15.0
    assert voila_pool.fill_delay({}) == 15.0
    assert voila_pool.fill_delay({"MINDIT_VOILA_FILL_DELAY": "1"}) == 1.0
    for bad in ("soon", "-2"):
        with pytest.raises(ValueError, match="MINDIT_VOILA_FILL_DELAY"):
            voila_pool.fill_delay({"MINDIT_VOILA_FILL_DELAY": bad})
