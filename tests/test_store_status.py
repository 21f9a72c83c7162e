"""`mindit status` names the communes an indicator misses in its latest year, and why."""

from __future__ import annotations

import csv

from mindit_lib.store import Store
from mindit_lib.store_status import province_gaps
from mindit_lib.territories import Territories


def test_gaps_are_named_with_their_reason(config, data_dir):
    with Store(config.store_path, read_only=True) as store:
        territories = Territories(store.territories())
        own = [t.refnis for t in territories.communes_of("60000")]
        gaps = province_gaps(store, territories, own)
    # house sales 2017: the communes with no row in the compiled file
    with open(data_dir / "compiled" / "realestate_observations.csv", encoding="utf-8") as fh:
        present = {r["geo_id"][-5:] for r in csv.DictReader(fh)
                   if r["indicator_id"] == "HOUSE_SALES_TOTAL_PRICE" and r["period"] == "2017"}
    absent = sorted(set(own) - present)
    assert absent == ["63012", "64025", "64076"]
    assert gaps["HOUSE_SALES_TOTAL_PRICE"] == (
        "missing in 2017: Büllingen (Bullange) (63012) : absent du fichier; Fexhe-le-Haut-Clocher (64025) : "
        "absent du fichier; Faimes (64076) : absent du fichier")
    # permits 2025: Statbel left the annual cell empty (a row without a value), not a zero
    assert "Amel (Amblève) (63001) : non publié par la source" in gaps["PERMITS_RES_NEW_DWELLINGS"]
    # complete indicators have no line
    assert "POPULATION_BY_COMMUNE" not in gaps and "BUILDING_STOCK_BUILDINGS" not in gaps
