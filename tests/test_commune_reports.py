"""The real report notebook, end to end: papermill per commune on the real store, PDFs read back as text."""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest
from pypdf import PdfReader

from mindit_lib.cli import main
from mindit_lib.reports.commune_batch import DEFAULT_NOTEBOOK, run_commune_reports
from mindit_lib.reports.validate import validate_notebook
from mindit_lib.store import Store
from tests.conftest import read_csv_rows


def pdf_text(path) -> str:
    """All the text of a PDF, no-break spaces folded to spaces."""
    return "\n".join(page.extract_text() for page in PdfReader(path).pages).replace("\u00a0", " ")


def fr(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


@pytest.fixture(scope="module")
def manifest(config, tmp_path_factory):
    cfg = config.with_overrides(output_dir=tmp_path_factory.mktemp("reports"))
    return run_commune_reports(cfg, ["62063", "Bütgenbach", "Saint-Nicolas (Liège)"], workers=2, progress=False)


def test_the_report_notebook_is_a_valid_parameterised_notebook():
    validate_notebook(DEFAULT_NOTEBOOK)
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'refnis = "62063"' in params[0].source


def test_every_requested_commune_gets_its_pdf(manifest):
    assert manifest.failed == []
    by_code = {r.refnis: r for r in manifest.communes}
    assert set(by_code) == {"62063", "63013", "62093"}
    assert {r.status for r in manifest.communes} == {"ok"}
    for code, result in by_code.items():
        assert result.pdf.endswith(f"{code}_{result.slug}.pdf")
        executed = nbformat.read(result.ipynb, as_version=4)
        assert executed.metadata.papermill.parameters == {"refnis": code}  # a string, never 62063


def test_each_pdf_title_names_the_commune_asked_for(manifest):
    expected = {"62063": "Liège", "63013": "Bütgenbach (Butgenbach)", "62093": "Saint-Nicolas"}
    for result in manifest.communes:
        reader = PdfReader(result.pdf)
        title = f"Portrait de commune — {expected[result.refnis]}"
        assert reader.metadata.title == title
        assert reader.pages[0].extract_text().splitlines()[0].startswith("Portrait de commune —")
        assert title in pdf_text(result.pdf).replace("\n", " ")


def test_liege_report_prints_each_population_2016_2026_equal_to_the_source(manifest, data_dir):
    rows = read_csv_rows(data_dir / "compiled" / "population_observations.csv")
    source = {int(r["period"]): float(r["value"]) for r in rows
              if r["indicator_id"] == "POPULATION_BY_COMMUNE" and r["geo_id"] == "be:mun:62063"}
    pdf = next(r.pdf for r in manifest.communes if r.refnis == "62063")
    raw = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)  # thousands: no-break spaces
    for year in range(2016, 2027):
        line = re.search(rf"^{year}\*? (\d{{1,3}}(?:\u00a0\d{{3}})*) ", raw, re.M)
        assert line, f"no table row for {year}"
        assert line.group(1).replace("\u00a0", " ") == fr(source[year]), year
    text = pdf_text(pdf)
    assert "198 102 hab." in text and "au 1er janvier 2026" in text
    assert "Changement de source entre 2015 et 2016" in text and "même définition" in text
    assert "Donnée plus ancienne que le reste du rapport : revenus 2023" in text
    first_page = PdfReader(pdf).pages[0].extract_text()   # the key figures: both incomes share one note
    assert first_page.count("Donnée plus ancienne que le reste du rapport : revenus 2023") == 1
    assert "Chiffres clés" in text and "Sources et méthode" in text
    assert "Traceback" not in text and "refnis" not in text


def test_butgenbach_report_prints_its_german_name(manifest):
    text = pdf_text(next(r.pdf for r in manifest.communes if r.refnis == "63013"))
    assert "Bütgenbach" in text and "Arrondissement de Verviers" in text
    assert "5 585 hab." in text  # 1 January 2026, compiled population series


def test_a_failing_commune_does_not_stop_the_others(config, tmp_path, capsys):
    store_copy = tmp_path / "store.duckdb"
    shutil.copy(config.store_path, store_copy)
    with Store(store_copy) as store:
        store.con.execute("DELETE FROM observation WHERE refnis = '61003'")  # Amay's rows are missing
    out = tmp_path / "out"
    code = main(["reports", "--store", str(store_copy), "--out", str(out), "--commune", "61003",
                 "--commune", "Waremme", "--workers", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED 61003 Amay: notebook_error" in err and "ValueError" in err
    manifest_path = next(out.glob("*/manifest.json"))
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    results = {c["refnis"]: c for c in data["communes"]}
    assert results["64074"]["status"] == "ok" and results["64074"]["pdf"]
    failed = results["61003"]
    assert failed["status"] == "notebook_error" and failed["pdf"] is None
    assert failed["error"]["ename"] == "ValueError" and "61003" in failed["error"]["evalue"]
    assert failed["error"]["source_cell"] == 1  # the cell that calls profile(refnis)
    assert failed["ipynb"] == "61003_amay.ipynb" and results["64074"]["pdf"] == "64074_waremme.pdf"
    executed = nbformat.read(manifest_path.parent / failed["ipynb"], as_version=4)
    assert any(o.get("output_type") == "error" for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert not list(manifest_path.parent.glob("61003*.pdf"))
    assert not list(manifest_path.parent.glob("*.tmp*"))


def test_unknown_commune_is_refused_before_anything_runs(config, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["reports", "--store", str(config.store_path), "--out", str(out), "--commune", "Atlantis"])
    assert code == 2
    assert "no territory named 'Atlantis'" in capsys.readouterr().err
    assert not out.exists()


def test_a_report_showing_another_commune_is_never_published(config, tmp_path):
    """A parameter overwritten in a way no static check sees: the declared commune gives it away."""
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell('globals()["refnis"] = "62063"'))
    sneaky = tmp_path / "sneaky.ipynb"
    nbformat.write(nb, sneaky)
    cfg = config.with_overrides(output_dir=tmp_path / "out")
    manifest = run_commune_reports(cfg, ["61003"], workers=1, progress=False, notebook=sneaky)
    [result] = manifest.communes
    assert result.status == "notebook_error" and result.pdf is None
    assert result.error["ename"] == "WrongCommune" and "62063, not 61003" in result.error["evalue"]


def test_a_run_for_some_communes_keeps_the_others_in_the_manifest(manifest, config):
    """After an edition of three communes, a run for one keeps the two others (and their skip)."""
    edition_dir = manifest.path.parent
    cfg = config.with_overrides(output_dir=edition_dir.parent)
    again = run_commune_reports(cfg, ["63013"], workers=1, progress=False, force=True)
    assert [r.refnis for r in again.communes] == ["63013"] and again.failed == []
    data = json.loads(again.path.read_text(encoding="utf-8"))
    assert sorted(c["refnis"] for c in data["communes"]) == ["62063", "62093", "63013"]
    assert data["this_run"] == {"communes": 1, "failed": 0}
    rerun = run_commune_reports(cfg, ["62063", "62093", "63013"], workers=1, progress=False)
    assert {r.status for r in rerun.communes} == {"skipped"}


def test_liege_report_has_the_housing_land_economy_table(manifest, data_dir):
    rows = read_csv_rows(data_dir / "statbel" / "establishment_units_q4_2018_2023_municipalities_be.csv")
    units = {float(r["n_establishment_units"]) for r in rows if r["CD_REFNIS"] == "62063" and r["year"] == "2023"}
    assert len(units) == 1
    text = pdf_text(next(r.pdf for r in manifest.communes if r.refnis == "62063")).replace("\n", " ")
    assert "Logement, territoire et économie" in text
    assert f"{fr(units.pop())} UE" in text and "situation 2023" in text


def _built_up_share(rows, communes, year="2015") -> float:
    """100 × area of the rubrics under « Parcelles bâties » (2TOT) / total area, from the raw land-use rows."""
    rows = [r for r in rows if r["CD_YEAR"] == year and r["CD_REFNIS"] in communes]
    built = sum(float(r["MS_TOT_SUR"]) for r in rows if r["CD_RUB_LVL_2"] == "2TOT")
    return 100 * built / sum(float(r["MS_TOT_SUR"]) for r in rows)


def test_liege_report_prints_the_built_up_share_2015_of_the_raw_land_use_file(manifest, data_dir, config):
    rows = read_csv_rows(data_dir / "statbel" / "TF_EAE_LAND_OCCUPTN_1983_2015_liege_province.csv.gz")
    province = {r["CD_REFNIS"] for r in rows}
    shares = [_built_up_share(rows, {"62063"}), _built_up_share(rows, {c for c in province if c[:2] == "62"}),
              _built_up_share(rows, province)]
    expected = " ".join(f"{s:.1f} %".replace(".", ",") for s in shares)
    text = pdf_text(next(r.pdf for r in manifest.communes if r.refnis == "62063")).replace("\n", " ")
    row = re.search(r"Part de la superficie bâtie (\d.*?) au 1er janvier (\d{4}) \[\d+\]", text)
    assert row and row.group(2) == "2015"
    assert row.group(1).startswith(f"{expected}")  # Wallonia, when shown, is n.d.: the land-use file covers Liège
    # the land-use section: chart with the 2010 break explained, the gap years named, the ready-to-cite source
    # whose « consulté le » is the day the land-use file was imported into this store
    with Store(config.store_path, read_only=True) as store:
        runs = store.latest_imports().set_index("dataset")["finished"]
    from mindit_lib.formatting import format_date

    imported = format_date(runs["statbel_land_use_1983_2015"].date())
    assert "Occupation du sol" in text and "Part de la superficie bâtie, 1983–2015 (%)" in text
    assert "Trait pointillé : changement de classification entre 2009 et 2010" in text
    assert "Années absentes de la source : 1992, 2003, 2006." in text
    assert ("Source : Part de la superficie bâtie, 1983–2015 — Statbel (d'après SPF Finances, AGDP — cadastre), "
            "Occupation du sol selon le cadastre (1983–2015), licence : Licence open data Statbel (réutilisation "
            f"libre, citer Statbel et la date de mise à jour), consulté le {imported}.") in text
    assert "Nouveaux logements autorisés pour 1 000 habitants, 2009–2025" in text
    assert "Unités d'établissement, 2018–2023 (indice)" in text
    # key figures: derived indicators with their reference date and numbered sources
    assert "Rapport de dépendance 50,6 /100" in text and "Évolution de la population sur 10 ans 0,6 %" in text


def test_unpublished_confidential_and_missing_values_show_nd_with_their_reason(config, tmp_path):
    """Amel: its 2025 permits are not published by Statbel (real); in a copy of the store its 2023 establishment
    units are made confidential and its unemployment rate removed: never 0, never a bar or a point."""
    store_copy = tmp_path / "store.duckdb"
    shutil.copy(config.store_path, store_copy)
    with Store(store_copy) as store:
        store.con.execute("UPDATE observation SET status = 'confidential', value = NULL WHERE refnis = '63001' "
                          "AND indicator_id = 'ESTABLISHMENT_UNITS' AND period = 2023")
        store.con.execute("DELETE FROM observation WHERE refnis = '63001' "
                          "AND indicator_id = 'ADMIN_UNEMPLOYMENT_RATE_COM'")
    cfg = config.with_overrides(output_dir=tmp_path / "out", store_path=store_copy)
    manifest = run_commune_reports(cfg, ["63001"], workers=1, progress=False)
    [result] = manifest.communes
    assert result.status == "ok", result.error
    text = pdf_text(result.pdf).replace("\n", " ")
    name = "Amel (Amblève)"
    # the commune's own reason; its parents cannot be summed without it (« non disponible »)
    assert re.search(r"Nouveaux logements autorisés pour 1 000 habitants n\.d\. \(non publié\) n\.d\. \(non "
                     r"disponible\) n\.d\. \(non disponible\) (n\.d\. \(non disponible\) )?situation 2025", text)
    assert f"{name} : n.d. (non publié) en 2025." in text
    assert "Unités d'établissement n.d. (confidentiel)" in text and f"{name} : n.d. (confidentiel) en 2023." in text
    assert "Unités d'établissement pour 1 000 habitants n.d. (confidentiel)" in text  # a ratio of a hidden part
    assert "Taux de chômage administratif des 15–64 ans n.d. (non disponible)" in text.replace("15– 64", "15–64")
    assert " 0 UE" not in text and "0,0 /1 000 hab." not in text
