"""The indicator catalogue (metadata as data)."""

from mindit_lib.indicators.catalogue import Catalogue, Dataset, Indicator, load_catalogue

__all__ = ["Catalogue", "Dataset", "Indicator", "load_catalogue"]
