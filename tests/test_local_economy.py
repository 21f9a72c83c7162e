"""« Économie locale » (issue 5, step 5): Statbel's establishment units for every commune without a KBO extract,
the KBO indicators once an extract in the published format is loaded — through `mindit update` (zip in the
mirror) or `mindit import kbo` — in the section, the report PDF and the dashboard's portrait."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from mindit_lib import sections
from mindit_lib.cli import main
from mindit_lib.dashboards import ma_commune
from mindit_lib.kbo.fixtures import meta_rows, write_extract
from mindit_lib.kbo.layout import DATA_FILES
from mindit_lib.kbo.pipeline import ExtractFile, plan
from mindit_lib.profile import Figures, profile
from mindit_lib.reports.commune_batch import run_commune_reports
from mindit_lib.store import Store
from mindit_lib.testing import link_mirror
from tests.conftest import read_csv_rows
from tests.test_kbo_economy import extract_files

UNITS = "statbel/establishment_units_q4_2018_2023_municipalities_be.csv"
ZIP = "KboOpenData_0140_2025_10_Full.zip"


def text(html: str) -> str:
    """Visible text of an HTML fragment (charts removed, tags dropped, no-break spaces folded)."""
    html = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ").replace("&#x27;", "'")


def fr(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


# --- without an extract: Statbel's series, for every commune -------------------------------------------------

def test_statbel_establishment_units_for_all_84_communes(figures, data_dir):
    raw = {r["CD_REFNIS"]: float(r["n_establishment_units"]) for r in read_csv_rows(data_dir / UNITS)
           if r["CD_REFNIS"] and r["quarter_nl"].strip() == "4de kwartaal 2023"}
    communes = figures.territories.communes_of("60000")
    assert len(communes) == 84
    for commune in communes:
        prof = profile(commune.refnis, figures_=figures)
        html = sections.local_economy(prof).data
        assert "data-source='statbel'" in html and "4e trimestre 2023" in html
        row = re.search(r"Unités d&#x27;établissement</th><td class=\"num\">([^<]+)</td>", html)
        assert row and row.group(1).replace("\u00a0", " ") == f"{fr(raw[commune.refnis])} UE", commune.refnis
        assert "Source : Unités d&#x27;établissement, 2018–2023 — Statbel" in html
    assert sections.report_figures(prof) == sections.REPORT_FIGURES  # no KBO figure, no KBO source


# --- the extract plan ----------------------------------------------------------------------------------------

def _e(number: int, kind: str) -> ExtractFile:
    return ExtractFile(Path(f"KboOpenData_{number:04d}_2025_01_{kind.capitalize()}.zip"), number, kind,
                       date(2025, 1, 1))


def test_plan_takes_the_newest_full_then_consecutive_updates():
    found = [_e(139, "full"), _e(140, "full"), _e(140, "update"), _e(141, "update"), _e(142, "update")]
    chain, why = plan(found, None)
    assert [(e.number, e.kind) for e in chain] == [(140, "full"), (141, "update"), (142, "update")] and why == ""
    assert plan(found, 142) == ([], "")                                     # everything applied: nothing to do
    chain, why = plan(found, 141)
    assert [(e.number, e.kind) for e in chain] == [(142, "update")]
    chain, why = plan([_e(140, "full"), _e(141, "update"), _e(143, "update")], 140)
    assert [e.number for e in chain] == [141]
    assert why.startswith("update extract n° 142 is missing, so the update(s) n° 143 that follow it are not applied")
    chain, why = plan([_e(141, "update")], None)
    assert chain == [] and "no full extract" in why
    chain, _ = plan([_e(150, "full"), _e(141, "update")], 140)              # a newer full replaces everything
    assert [(e.number, e.kind) for e in chain] == [(150, "full")]


# --- with an extract --------------------------------------------------------------------------------------------

def _mirror_with_extract(tmp_path: Path, data_dir: Path) -> Path:
    """A mirror of links to the real files, plus a KBO full extract in the published format in bce_kbo/."""
    mirror = link_mirror(data_dir, tmp_path / "mirror")
    write_extract(mirror / "bce_kbo" / ZIP, extract_files())
    return mirror


@pytest.fixture(scope="module")
def kbo_config(config, data_dir, tmp_path_factory):
    """A copy of the session store, then `mindit update` over a mirror that holds a KBO extract."""
    tmp = tmp_path_factory.mktemp("kbo_store")
    mirror = _mirror_with_extract(tmp, data_dir)
    cfg = config.with_overrides(store_path=tmp / "store.duckdb", source_dir=mirror, output_dir=tmp / "reports")
    shutil.copy(config.store_path, cfg.store_path)
    return cfg


def test_update_picks_up_the_extract_once(kbo_config, capsys):
    assert main(["update", "--store", str(kbo_config.store_path), "--source-dir", str(kbo_config.source_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"bce_kbo_open_data\s+imported\s+\d+ rows", out), out
    assert re.search(r"bce_kbo_indicators\s+imported", out), out
    with Store(kbo_config.store_path, read_only=True) as store:
        checksum = store.content_checksum()
        assert store.query("SELECT extract_number FROM kbo_extract")["extract_number"].tolist() == [140]
    assert main(["update", "--store", str(kbo_config.store_path), "--source-dir", str(kbo_config.source_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"bce_kbo_open_data\s+unchanged .*extract n° 140 and every earlier one already applied", out)
    assert "bce_kbo_indicators" not in out and "0 imported" in out
    with Store(kbo_config.store_path, read_only=True) as store:
        assert store.content_checksum() == checksum
    assert main(["status", "--store", str(kbo_config.store_path)]) == 0
    status = capsys.readouterr().out
    assert "register: 1 extract(s) applied, latest n° 140 (full) of 03-10-2025" in status
    assert "indicators: 6 from extract n° 140" in status


def test_import_kbo_refuses_an_extract_already_applied(kbo_config, capsys):
    path = kbo_config.source_dir / "bce_kbo" / ZIP
    main(["update", "--store", str(kbo_config.store_path), "--source-dir", str(kbo_config.source_dir)])
    capsys.readouterr()
    with Store(kbo_config.store_path, read_only=True) as store:
        checksum = store.content_checksum()
    empty = {f"{name}_{part}": [] for name in DATA_FILES for part in ("delete", "insert")}
    update = write_extract(kbo_config.store_path.parent / "KboOpenData_0140_2025_10_Update.zip",
                           {"meta": meta_rows(140, "update", "03-10-2025"), "code": [], **empty})
    assert main(["import", "kbo", str(update), "--store", str(kbo_config.store_path)]) == 1
    captured = capsys.readouterr()
    assert "update extract n° 140 does not follow the store's extract n° 140 (it is already applied)" in captured.out
    with pytest.raises(SystemExit) as stop:   # a zip without "kbo" before it: argparse says what is expected
        main(["import", "--store", str(kbo_config.store_path), str(path)])
    assert stop.value.code == 2 and "choose from 'kbo'" in capsys.readouterr().err
    assert main(["import", "kbo", "--store", str(kbo_config.store_path)]) == 2
    assert "`mindit import kbo` needs the extract(s)" in capsys.readouterr().err
    with Store(kbo_config.store_path, read_only=True) as store:
        assert store.content_checksum() == checksum


@pytest.fixture(scope="module")
def kbo_figures(kbo_config):
    main(["update", "--store", str(kbo_config.store_path), "--source-dir", str(kbo_config.source_dir)])
    return Figures(Store(kbo_config.store_path, read_only=True))


def test_section_switches_to_the_kbo_indicators(kbo_figures):
    liege = profile("62063", figures_=kbo_figures)
    html = sections.local_economy(liege).data
    assert "data-source='kbo' data-extract='140'" in html
    words = text(html)
    assert "Banque-Carrefour des Entreprises (BCE/KBO), extrait n° 140 du 3 octobre 2025" in words
    # the fixture: 7 enterprises with their seat in Liège, 7 in its arrondissement, 16 in the province — the
    # province's total is suppressed (with arr. Verviers's 6) to protect Verviers's cells of 1 (test_kbo_economy)
    assert "Entreprises actives 7 entreprises 7 entreprises n.d. (confidentiel) au 3 octobre 2025" in words
    # its natural person has its oldest unit in Eupen; the province's only one is a cell of 1: suppressed
    assert "Part des personnes physiques parmi les entreprises actives 0,0 % 0,0 % n.d. (confidentiel)" in words
    # 5 units, 1 each in 5 communes: the province's 5 would give them away, so it is suppressed too
    assert "Unités d'établissement actives (BCE) n.d. (confidentiel) n.d. (confidentiel) n.d. (confidentiel)" in words
    assert ("Cessations d'entreprises n.d. (non disponible) n.d. (non disponible) n.d. (non disponible) aucun "
            "extrait de mise à jour appliqué") in words
    assert "Créations d'entreprises (encore actives) 0 entreprise 0 entreprise 0 entreprise année 2024" in words
    # by section: 6 in construction (NACE-BEL 2025 F) and 1 in K, so both suppressed; sections with none left out
    assert "Section Entreprises Part Part, province de Liège Construction n.d. (confidentiel)" in words
    assert "Activités immobilières" not in words
    assert "Source : Entreprises et unités d'établissement — SPF Economie, Banque-Carrefour des Entreprises" in words
    eupen = text(sections.local_economy(profile("63023", figures_=kbo_figures)).data)
    assert "Entreprises actives n.d. (confidentiel)" in eupen       # 1 enterprise: suppressed, never 0 or 1
    assert "bce_kbo_open_data" not in sections.report_sources(liege)
    assert "bce_kbo_open_data" in sections.report_sources(liege, sections.report_figures(liege))


def test_report_and_dashboard_show_the_kbo_section(kbo_config, kbo_figures, monkeypatch):
    manifest = run_commune_reports(kbo_config, ["62063"], workers=1, progress=False)
    assert manifest.failed == []
    pdf = " ".join(p.extract_text() for p in PdfReader(manifest.communes[0].pdf).pages).replace("\u00a0", " ")
    pdf = re.sub(r"\s+", " ", pdf)
    assert "Économie locale" in pdf and "extrait n° 140 du 3 octobre 2025" in pdf
    assert "Entreprises actives 7 entreprises 7 entreprises n.d. (confidentiel)" in pdf
    monkeypatch.setenv("MINDIT_STORE", str(kbo_config.store_path))
    portrait = text(ma_commune.portrait_html("62063"))
    assert "Économie locale" in portrait and "extrait n° 140 du 3 octobre 2025" in portrait


def _update(folder: Path, number: int, snapshot: str, deleted: list[str]) -> Path:
    """An update extract in the published format that deletes the enterprises ``deleted`` (nothing inserted)."""
    files = {f"{name}_{part}": [] for name in DATA_FILES for part in ("delete", "insert")}
    files["enterprise_delete"] = [(number_,) for number_ in deleted]
    month = snapshot.split("-")[1]
    return write_extract(folder / f"KboOpenData_{number:04d}_{snapshot[-4:]}_{month}_Update.zip",
                         {"meta": meta_rows(number, "update", snapshot), "code": [], **files})


def test_import_kbo_keeps_the_chain_and_cessations_say_their_span(config, tmp_path, capsys):
    store = tmp_path / "store.duckdb"
    shutil.copy(config.store_path, store)
    full = write_extract(tmp_path / ZIP, extract_files())
    gap = _update(tmp_path, 142, "05-12-2025", [])
    nxt = _update(tmp_path, 141, "07-11-2025", ["0500.000.000"])  # one of Liège's construction firms
    assert main(["import", "kbo", str(full), "--store", str(store)]) == 0
    capsys.readouterr()
    with Store(store, read_only=True) as s:
        checksum = s.content_checksum()
    assert main(["import", "kbo", str(gap), "--store", str(store)]) == 1       # n° 141 first
    assert "update extract n° 142 does not follow the store's extract n° 140 (n° 141 is missing" in \
        capsys.readouterr().out
    with Store(store, read_only=True) as s:
        assert s.content_checksum() == checksum
    assert main(["import", "kbo", str(nxt), "--store", str(store)]) == 0
    assert main(["import", "kbo", str(full), "--store", str(store)]) == 1      # an older full would undo 141
    assert "full extract n° 140 is not newer than what the store holds (n° 141)" in capsys.readouterr().out
    with Store(store, read_only=True) as s:
        assert s.query("SELECT extract_number FROM kbo_extract ORDER BY 1")["extract_number"].tolist() == [140, 141]
        ceased = s.query("SELECT entity_number, refnis FROM kbo_cessation")
    assert ceased.to_dict("records") == [{"entity_number": "0500.000.000", "refnis": "62063"}]
    figs = Figures(Store(store, read_only=True))
    words = text(sections.local_economy(profile("62063", figures_=figs)).data)
    assert "Entreprises actives 6 entreprises 6 entreprises n.d. (confidentiel) au 7 novembre 2025" in words
    # one cessation: suppressed everywhere; it covers 3 October – 7 November, so no net change for a year
    assert ("Cessations d'entreprises n.d. (confidentiel) n.d. (confidentiel) n.d. (confidentiel) du 3 octobre 2025 "
            "au 7 novembre 2025") in words
    assert "Solde créations − cessations n.d. (non disponible)" in words
    assert "aucune année entière couverte par les mises à jour" in words
