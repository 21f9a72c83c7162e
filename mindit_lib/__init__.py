"""Mind it — territorial intelligence for the communes of a Walloon province.

The library is layered: ``sources`` read publishers' files, ``store`` holds tidy tables,
``profile`` computes figures, ``charts``/``maps`` draw them, ``reports`` orchestrates notebooks.
"""

import sys

__version__ = "0.1.0"

# jsonschema (imported by altair, nbformat, jupyter_events) registers its optional "iri" format checker by importing
# rfc3987_syntax, which compiles about 35 Earley grammars at import: 1–3 s in every kernel that draws a chart
# (python-jsonschema/jsonschema#1428). No schema Mind it validates uses that format (Vega-Lite, nbformat and the
# Jupyter event schemas have no "iri" field), so it is marked absent before jsonschema is imported: jsonschema then
# skips that one checker. A process that imported jsonschema before mindit_lib is unaffected.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
