"""The files of a KBO Open Data extract and their columns, as the Cookbook R018.00 (§2) documents them."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: enterprise number ``9999.999.999`` and establishment number ``9.999.999.999`` (§2.3, §2.4)
ENTERPRISE_NUMBER = r"\d{4}\.\d{3}\.\d{3}"
ESTABLISHMENT_NUMBER = r"\d\.\d{3}\.\d{3}\.\d{3}"
ENTITY_NUMBER = f"(?:{ENTERPRISE_NUMBER}|{ESTABLISHMENT_NUMBER})"


@dataclass(frozen=True)
class KboFile:
    """One file of the extract.

    Attributes
    ----------
    name : str
        Base name without ``.csv`` (``enterprise``).
    columns : tuple of str
        Header, in order, as published (``EnterpriseNumber``…).
    key : str or None
        The column of ``<name>_delete.csv`` in an update extract (None: no delete file).
    dates : tuple of str
        Columns holding ``dd-mm-yyyy`` dates.
    mandatory : tuple of str
        Columns that may not be empty.
    patterns : dict
        Column → regular expression every non-empty value must match.
    required : bool
        Whether a full extract must contain the file.
    """

    name: str
    columns: tuple[str, ...]
    key: str | None
    dates: tuple[str, ...] = ()
    mandatory: tuple[str, ...] = ()
    patterns: tuple[tuple[str, str], ...] = ()
    required: bool = True

    @property
    def table(self) -> str:
        """The DuckDB table holding the file's rows as text."""
        return f"kbo_{self.name}"


FILES: dict[str, KboFile] = {f.name: f for f in (
    KboFile("meta", ("Variable", "Value"), None, mandatory=("Variable",)),
    KboFile("code", ("Category", "Code", "Language", "Description"), None,
            mandatory=("Category", "Code", "Language", "Description"),
            patterns=(("Language", "DE|EN|FR|NL"),)),
    KboFile("enterprise", ("EnterpriseNumber", "Status", "JuridicalSituation", "TypeOfEnterprise",
                           "JuridicalForm", "JuridicalFormCAC", "StartDate"), "EnterpriseNumber",
            dates=("StartDate",),
            mandatory=("EnterpriseNumber", "Status", "JuridicalSituation", "TypeOfEnterprise", "StartDate"),
            patterns=(("EnterpriseNumber", ENTERPRISE_NUMBER),)),
    KboFile("establishment", ("EstablishmentNumber", "StartDate", "EnterpriseNumber"), "EstablishmentNumber",
            dates=("StartDate",), mandatory=("EstablishmentNumber", "StartDate", "EnterpriseNumber"),
            patterns=(("EstablishmentNumber", ESTABLISHMENT_NUMBER), ("EnterpriseNumber", ENTERPRISE_NUMBER))),
    KboFile("denomination", ("EntityNumber", "Language", "TypeOfDenomination", "Denomination"), "EntityNumber",
            mandatory=("EntityNumber", "Language", "TypeOfDenomination", "Denomination"),
            patterns=(("EntityNumber", ENTITY_NUMBER),)),
    KboFile("address", ("EntityNumber", "TypeOfAddress", "CountryNL", "CountryFR", "Zipcode", "MunicipalityNL",
                        "MunicipalityFR", "StreetNL", "StreetFR", "HouseNumber", "Box", "ExtraAddressInfo",
                        "DateStrikingOff"), "EntityNumber",
            dates=("DateStrikingOff",), mandatory=("EntityNumber", "TypeOfAddress"),
            patterns=(("EntityNumber", ENTITY_NUMBER),)),
    KboFile("contact", ("EntityNumber", "EntityContact", "ContactType", "Value"), "EntityNumber",
            mandatory=("EntityNumber", "EntityContact", "ContactType", "Value"),
            patterns=(("EntityNumber", ENTITY_NUMBER),)),
    KboFile("activity", ("EntityNumber", "ActivityGroup", "NaceVersion", "NaceCode", "Classification"),
            "EntityNumber", mandatory=("EntityNumber", "ActivityGroup", "NaceVersion", "NaceCode", "Classification"),
            patterns=(("EntityNumber", ENTITY_NUMBER), ("NaceVersion", "2003|2008|2025"), ("NaceCode", r"\d{5}|\d{7}"),
                      ("ActivityGroup", r"\d{3}"))),
    # branch.csv came with the 2019 company code; older extracts lack it (§2.9)
    KboFile("branch", ("Id", "StartDate", "EnterpriseNumber"), "Id", dates=("StartDate",),
            mandatory=("Id", "StartDate", "EnterpriseNumber"),
            patterns=(("Id", ENTITY_NUMBER), ("EnterpriseNumber", ENTITY_NUMBER)), required=False),
)}

#: files with entity rows (everything but meta and code), in the order an import applies them
DATA_FILES = tuple(name for name in FILES if name not in ("meta", "code"))


def snake(column: str) -> str:
    """Column name in the store: ``JuridicalFormCAC`` → ``juridical_form_cac``, ``CountryNL`` → ``country_nl``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    return text.lower()
