"""The BCE/KBO Open Data extract (Crossroads Bank for Enterprises): import, geography, sector, indicators.

Format followed: the publisher's *Cookbook KBO Open data*, version **R018.00** (FOD Economie, ICT Staff
Service), read in the English transcription kept in the public repository ``stevenn/NewAgeKBO``
(``specs/KBOCookbook_EN.md``), with the header lines and sample rows of the 2025 extracts (extract 136,
``meta.csv`` ``Version`` 1.0.0) as cross-check. What it says and what this package does:

- A full extract ``KboOpenData_<nr>_<year>_<month>_Full.zip`` holds ``meta.csv``, ``code.csv``,
  ``enterprise.csv``, ``establishment.csv``, ``denomination.csv``, ``address.csv``, ``contact.csv``,
  ``activity.csv`` and ``branch.csv`` (§1.5.1, §2.1–2.9). Comma-separated, text between double quotes,
  dates ``dd-mm-yyyy`` (unquoted), an empty value is NULL.
- An update extract ``…_Update.zip`` holds ``meta.csv``, the whole ``code.csv``, and per other file a
  ``<file>_delete.csv`` (one column: the key) and a ``<file>_insert.csv`` (the full layout); deletes are
  applied first, then inserts (§1.5.2).
- Enterprise numbers (``0200.065.765``) and establishment numbers (``2.000.000.339``) stay text.
- The extract lists active entities only (§1.4): cessations come from the deletions of update extracts.

Modules: :mod:`layout` (the files and columns), :mod:`extract` (open a zip or folder, check headers and
``meta.csv``), :mod:`schema` (DuckDB tables and typed views), :mod:`load` (full and update imports, atomic).
"""
