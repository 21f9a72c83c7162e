"""Readers of publishers' files. Each returns frames for the store's tables; none writes anything."""

from mindit_lib.sources.base import SourceError

__all__ = ["SourceError"]
