"""Mind it — territorial intelligence for the communes of a Walloon province.

The library is layered: ``sources`` read publishers' files, ``store`` holds tidy tables,
``profile`` computes figures, ``charts``/``maps`` draw them, ``reports`` orchestrates notebooks.
"""

__version__ = "0.1.0"
