"""Blocks of the commune portrait (HTML and static charts), shared by the PDF report and the dashboards.

Each function takes a :class:`~mindit_lib.profile.Profile` and returns an IPython display object, so
a notebook holds only calls and prose. Every label, unit, date and source comes from the catalogue.
"""

from __future__ import annotations

import html
from datetime import date

import pandas as pd
from IPython.display import HTML

from mindit_lib.formatting import format_date, format_number, format_percent, format_value, is_missing
from mindit_lib.profile import Profile, age_structure
from mindit_lib.territories import ROLE_LABELS_FR

KEY_FIGURES = ("POPULATION_BY_COMMUNE", "POPULATION_GROWTH_1Y", "POPULATION_GROWTH_5Y", "POPULATION_GROWTH_10Y",
               "DENSITY", "SHARE_AGE_0_14", "SHARE_AGE_15_64", "SHARE_AGE_65_PLUS", "DEPENDENCY_RATIO",
               "INCOME_PER_INHABITANT", "INCOME_PER_NON_ZERO_DECLARATION")
#: the second table: housing, land, economy and employment (issue 3's themes); dates shown per row
THEME_FIGURES = ("BUILDING_STOCK_DWELLINGS", "SHARE_DWELLINGS_VACANT", "PERMITS_DWELLINGS_PER_1000_INHABITANTS",
                 "BUILT_UP_SHARE", "ESTABLISHMENT_UNITS", "ESTABLISHMENT_UNITS_PER_1000_INHABITANTS",
                 "CENSUS_UNEMPLOYMENT_RATE", "ADMIN_UNEMPLOYMENT_RATE_COM")
#: the short theme sections after that table: (indicator, drawn as an index?) — one chart each
THEME_CHARTS = {"housing": ("PERMITS_DWELLINGS_PER_1000_INHABITANTS", False),
                "land": ("BUILT_UP_SHARE", False),
                "economy": ("ESTABLISHMENT_UNITS", True)}
#: every figure of the report (sources and definitions at the end)
REPORT_FIGURES = tuple(dict.fromkeys((*KEY_FIGURES, *THEME_FIGURES, *(i for i, _ in THEME_CHARTS.values()))))
THEME_CHART_HEIGHT = 120
MAIN_INDICATOR = "POPULATION_BY_COMMUNE"
MAP_TOLERANCE_M = 200


def _lower_first(text: str) -> str:
    """``"Province de Liège"`` → ``"province de Liège"`` (only the first letter)."""
    return text[:1].lower() + text[1:]


def _e(text: object) -> str:
    return html.escape(str(text))


def main_year(prof: Profile) -> int:
    """The report's main year: the latest population year of the commune."""
    _, year, _ = prof.figures.value(MAIN_INDICATOR, prof.commune.refnis)
    if year is None:
        raise ValueError(f"no population figure for {prof.commune.display_name} ({prof.commune.refnis}) in the "
                         "store: run `mindit import`.")
    return year


def report_title(prof: Profile) -> str:
    """``"Portrait de commune — Bütgenbach (Butgenbach)"``."""
    return f"Portrait de commune — {prof.commune.display_name}"


class IdentifiedHTML(HTML):
    """HTML whose output metadata names the commune it shows (``{"mindit": {"refnis": "62063"}}``): the
    report batch checks it against the commune it asked for, so a report can never be published under
    another commune's name."""

    def __init__(self, data: str, refnis: str):
        super().__init__(data)
        self.refnis = refnis

    def _repr_html_(self):
        return self.data, {"mindit": {"refnis": self.refnis}}


def header(prof: Profile, edition: date | None = None) -> HTML:
    """Title block: commune name, code, parents, edition date (declares the commune, see IdentifiedHTML)."""
    edition = edition or date.today()
    parents = " · ".join(_e(t.display_name) for t in prof.parents)
    return IdentifiedHTML(
        f'<header class="mindit-title"><h1>Portrait de commune — '
        f'<span class="nowrap">{_e(prof.commune.display_name)}</span></h1>'
        f'<p class="mindit-subtitle">Code INS (REFNIS) {_e(prof.commune.refnis)} · {parents}</p>'
        f'<p class="mindit-edition">Édition du {format_date(edition)} · données au '
        f"1er janvier {main_year(prof)} pour la population</p></header>", prof.commune.refnis)


def _older_note(prof: Profile, indicator_id: str, year: int | None) -> str:
    main = main_year(prof)
    if year is None or year >= main:
        return ""
    ind = prof.catalogue.indicator(indicator_id)
    return (f"Donnée plus ancienne que le reste du rapport : {ind.reference_date_text(year)} "
            f"(population : {main}).")


def key_figures_table(prof: Profile, indicators: tuple[str, ...] = KEY_FIGURES) -> pd.DataFrame:
    """Key figures as a frame: indicator, reference date, then one text column per territory."""
    rows = []
    for ind_id in indicators:
        ind = prof.catalogue.indicator(ind_id)
        latest = prof.latest(ind_id)
        year = latest["period"].iloc[0]
        row = {"Indicateur": ind.label_fr,
               "Date de référence": ind.reference_date_text(int(year)) if not is_missing(year) else "n.d."}
        for r in latest.itertuples():
            row[r.territory] = r.text
        row["_note"] = _older_note(prof, ind_id, None if is_missing(year) else int(year))
        row["_sources"] = prof.figures.source_datasets(ind_id, None if is_missing(year) else [int(year)],
                                                       [t.refnis for t in prof.territories])
        rows.append(row)
    return pd.DataFrame(rows)


def key_figures(prof: Profile, indicators: tuple[str, ...] = KEY_FIGURES, *, older_notes: bool = True) -> HTML:
    """Key figures with their reference dates, for the commune and its parents.

    ``older_notes`` adds a numbered note to each figure older than the report's main year (the reference-date
    column always shows the year).
    """
    frame = key_figures_table(prof, indicators)
    if not older_notes:
        frame["_note"] = ""
    cols = [c for c in frame.columns if c not in ("Indicateur", "Date de référence", "_note", "_sources")]
    # a parent with no value at all (the source does not cover all its communes) is left out, with a note
    cols = [c for c in cols if c == prof.commune.display_name or not frame[c].str.startswith("n.d.").all()]
    head = "".join(f"<th>{_e(c)}</th>" for c in ["Indicateur", *cols, "Date de référence"])
    body, notes = [], []
    refs = report_sources(prof)
    for r in frame.to_dict("records"):
        mark = ""
        if r["_note"]:
            if r["_note"] not in notes:   # two figures of the same older year share one note
                notes.append(r["_note"])
            mark = f'<sup class="note">{notes.index(r["_note"]) + 1}</sup>'
        cells = "".join(f'<td class="num">{_e(r[c])}</td>' for c in cols)
        nums = ", ".join(str(refs[d]) for d in r["_sources"] if d in refs)
        body.append(f"<tr><th scope='row'>{_e(r['Indicateur'])}{mark}</th>{cells}"
                    f"<td>{_e(r['Date de référence'])} <span class='src'>[{nums}]</span></td></tr>")
    foot = "".join(f'<p class="note"><sup>{i}</sup> {_e(n)}</p>' for i, n in enumerate(notes, 1))
    left_out = [t.display_name for t in prof.parents if t.display_name not in cols]
    extra = "".join(f'<p class="note">{_e(name)} : omise du tableau, les sources ne couvrent pas toutes ses '
                    "communes pour les années affichées (valeurs calculables dans les séries ci-après quand elles "
                    "le sont).</p>" for name in left_out)
    cite = ('<p class="note">[n] : source n° n de la liste « Sources » en fin de rapport (licence, date de '
            "consultation, adresse officielle).</p>")
    return HTML(f'<table class="mindit-table key-figures"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>{foot}{extra}{cite}")


def _series_chart(prof: Profile, indicator_id: str, title: str, index: bool = True, height: int = 260):
    from mindit_lib import charts

    ind = prof.catalogue.indicator(indicator_id)
    series = prof.series(indicator_id).dropna(subset=["value"])
    brk = ind.series_breaks[0] if ind.series_breaks else {}
    return charts.evolution_chart(series[["territory", "role", "period", "value"]], title=title, index=index,
                                  unit=ind.unit_short, break_between=tuple(brk["between"]) if brk else None,
                                  break_label=brk.get("label_fr", "rupture de série"), height=height)


def missing_notes(prof: Profile, indicator_id: str) -> list[str]:
    """Sentences naming the commune's years without a value and why: ``"Liège : n.d. (non publié) en 2025."``
    (a row with a status: that status; a year the other territories have but the commune has no row:
    « non disponible »)."""
    series = prof.series(indicator_id)
    own = series[series["role"] == "commune"]
    reasons: dict[str, list[int]] = {}
    for r in own[own["value"].isna()].itertuples():
        reasons.setdefault(format_number(None, status=r.status), []).append(int(r.period))
    absent = sorted(set(series["period"].astype(int)) - set(own["period"].astype(int)))
    if absent:
        reasons.setdefault(format_number(None), []).extend(absent)
    name = prof.commune.display_name
    return [f"{name} : {text} en {', '.join(str(y) for y in sorted(years))}." for text, years in reasons.items()]


def theme_evolution(prof: Profile, theme: str) -> HTML:
    """A short theme section's chart (static SVG) with its notes and ready-to-cite source, kept together.

    The commune's years without a value are named with their reason (« n.d. (non publié) »), never drawn as 0;
    a commune without any value gets the text instead of the chart. Series breaks are drawn and explained.
    """
    from mindit_lib import charts

    indicator_id, index = THEME_CHARTS[theme]
    ind = prof.catalogue.indicator(indicator_id)
    series = prof.series(indicator_id)
    own = series[(series["role"] == "commune") & series["value"].notna()]
    notes = missing_notes(prof, indicator_id)
    if own.empty:
        status = series.loc[series["role"] == "commune", "status"]
        text = format_number(None, status=status.iloc[-1] if len(status) else None)
        return HTML(f'<p class="nd"><strong>{_e(ind.label_fr)}</strong> — {_e(prof.commune.display_name)} : '
                    f"{_e(text)}.</p>" + f'<p class="note">{_e(prof.citation(indicator_id))}</p>')
    years = sorted(own["period"].astype(int))
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    title = f"{ind.label_fr}, {span}" + (" (indice)" if index else f" ({ind.unit_short})")
    chart = _series_chart(prof, indicator_id, title, index=index, height=THEME_CHART_HEIGHT)
    gaps = [y for y in range(years[0], years[-1] + 1) if y not in set(series["period"].astype(int))]
    if gaps:
        notes.append(f"Années absentes de la source : {', '.join(map(str, gaps))}.")
    for brk in ind.series_breaks:
        first, second = brk["between"]
        if years[0] <= first and second <= years[-1]:
            notes.append(f"Trait pointillé : {brk.get('label_fr', 'rupture de série')} entre {first} et {second}, "
                         f"{brk.get('note_fr', '')}.")
    # a parent without any value is simply not drawn (said once, in the section's introduction)
    drawn = set(series.loc[series["value"].notna(), "territory"])
    notes += [n for n in prof.coverage_notes(indicator_id) if n.split(" : ")[0] in drawn]
    notes.append(prof.citation(indicator_id, sorted(set(series.loc[series["value"].notna(), "period"]))))
    foot = "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    return HTML(f'<div class="keep-together mindit-chart">{charts.to_svg(chart)}{foot}</div>')


YEAR_CAPTIONS = {"january_1": "au 1er janvier de l'année",
                 "income_year": "année de revenus (exercice d'imposition = année + 1)",
                 "fixed": "situation de l'année", "calendar_year": "au cours de l'année"}


def yearly_table(prof: Profile, indicator_id: str) -> HTML:
    """Yearly values of an indicator for the commune and parents (one row a year), with series breaks."""
    ind = prof.catalogue.indicator(indicator_id)
    series = prof.series(indicator_id)
    wide = series.pivot_table(index="period", columns="refnis", values="value", aggfunc="first", dropna=False)
    own_years = series.loc[series["role"] == "commune", "period"]  # unpublished years stay, as n.d.
    wide = wide.loc[wide.index.isin(own_years)]
    terrs = [t for t in prof.territories if t.refnis in wide.columns and wide[t.refnis].notna().any()]
    breaks = {b["between"][1]: b for b in ind.series_breaks}
    head = "".join(f"<th>{_e(t.display_name)}</th>" for t in terrs)
    rows, has_missing = [], False
    for year in wide.index:
        cls = ' class="series-break"' if year in breaks else ""
        cells = []
        for t in terrs:
            value = wide.at[year, t.refnis]
            has_missing |= is_missing(value)
            text = "n.d." if is_missing(value) else format_number(value, ind.decimals)
            cells.append(f'<td class="num">{_e(text)}</td>')
        mark = "<sup>*</sup>" if year in breaks else ""
        rows.append(f"<tr{cls}><th scope='row'>{int(year)}{mark}</th>{''.join(cells)}</tr>")
    notes = [f"* {b.get('label_fr', 'rupture de série').capitalize()} entre {y - 1} et {y} : {b.get('note_fr', '')}."
             for y, b in breaks.items()]
    if has_missing:
        notes.append("n.d. : non disponible.")
    notes += prof.coverage_notes(indicator_id)
    notes.append(prof.citation(indicator_id, [int(y) for y in wide.index]))
    foot = "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    caption = f"{ind.label_fr} ({ind.unit}), {YEAR_CAPTIONS.get(ind.reference_date_rule, 'par année')}"
    return HTML(f'<table class="mindit-table yearly"><caption>{_e(caption)}</caption>'
                f"<thead><tr><th>Année</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{foot}")


def population_evolution(prof: Profile):
    """Population evolution, index 100, commune vs parents (static SVG chart)."""
    from mindit_lib import charts

    return charts.display_static(_series_chart(prof, "POPULATION_BY_COMMUNE",
                                               "Évolution de la population (indice)"))


def income_evolution(prof: Profile):
    """Net taxable income per inhabitant, commune vs parents, in euros (static SVG chart)."""
    from mindit_lib import charts

    return charts.display_static(_series_chart(prof, "INCOME_PER_INHABITANT",
                                               "Revenu net imposable par habitant (€)", index=False))


def age_pyramid(prof: Profile):
    """Age pyramid of the commune, the province as an outline (static SVG chart)."""
    from mindit_lib import charts

    own, prov, year = age_structure(prof)
    province = next(t for t in prof.parents if t.role == "province")
    chart = charts.age_pyramid(own, compare=prov, compare_label=province.display_name,
                               title=f"Pyramide des âges au 1er janvier {year} (en % de la population)")
    return charts.display_static(chart)


def age_pyramid_note(prof: Profile) -> HTML:
    """Says which year the pyramid shows and why."""
    _, _, year = age_structure(prof)
    ind = prof.catalogue.indicator("POPULATION_SEX_AGE")
    return HTML(f'<p class="note">{_e(_older_note(prof, "POPULATION_SEX_AGE", year))} La répartition par âge '
                f"détaillé et par sexe n'est disponible dans le miroir de données que jusqu'en {year} "
                f"({_e(ind.label_fr)}). Le contour montre la province.</p>"
                f'<p class="note">{_e(prof.citation("POPULATION_SEX_AGE", [year]))}</p>')


def _province_shapes(figs, province: str):
    """The locator map's shared layers for a province: simplified shapes, named communes (kept in the Figures
    memo, which lives as long as the store content it was loaded from)."""
    from mindit_lib import maps

    key = ("locator_base", province)
    if key not in figs.memo:
        communes_of = figs.territories.communes_of(province)
        names = {t.refnis: t.display_name for t in communes_of}
        arr_codes = {t.parent_refnis for t in communes_of}
        communes = figs.store.geometry("statbel2011", 5)
        arrs = figs.store.geometry("statbel2011", 4)
        prov = figs.store.geometry("statbel2011", 3)
        # 200 m is under one pixel of a 16 cm map of a province (about 100 km across): invisible, 3× fewer points
        tolerance = MAP_TOLERANCE_M
        communes = maps.simplify_for_display(communes[communes["refnis"].isin(names)], tolerance)
        figs.memo[key] = maps.locator_base(
            communes.assign(name=communes["refnis"].map(names)),
            maps.simplify_for_display(arrs[arrs["refnis"].isin(arr_codes)], tolerance),
            maps.simplify_for_display(prov[prov["refnis"] == province], tolerance))
    return figs.memo[key]


def locator_map(prof: Profile):
    """The commune within its arrondissement and province (static SVG map)."""
    from mindit_lib import charts, maps

    province = next(t for t in prof.parents if t.role == "province")
    base = _province_shapes(prof.figures, province.refnis)
    chart = maps.locator_map_spec(base, prof.commune.refnis,
                                  title=f"{prof.commune.display_name} dans la {_lower_first(province.display_name)}")
    return charts.display_static(chart)


def report_figures(prof: Profile) -> tuple[str, ...]:
    """Every figure of the report: :data:`REPORT_FIGURES`, plus the BCE/KBO figures when the « Économie
    locale » section shows them (an extract is in the store)."""
    from mindit_lib import local_economy

    extra = local_economy.KBO_FIGURES if local_economy.kbo_snapshot(prof) else ()
    return (*REPORT_FIGURES, *extra)


def local_economy(prof: Profile) -> HTML:
    """The « Économie locale » section: from the BCE/KBO register when an extract is in the store (firms,
    establishment units, natural persons, age, creations and cessations for the commune, its arrondissement and
    province, then the commune's firms by NACE section), from Statbel's establishment units otherwise. Either
    way the source and its date are said first and cited last. Suppressed cells read « n.d. (confidentiel) »."""
    from mindit_lib import local_economy as economy

    snap = economy.kbo_snapshot(prof)
    if snap is None:
        units = prof.latest("ESTABLISHMENT_UNITS")
        year = units["period"].iloc[0]
        when = "" if is_missing(year) else f" (4e trimestre {int(year)})"
        pending = economy.kbo_extract_without_indicators(prof)
        why = ("Aucun extrait du registre de la BCE n'est chargé dans Mind it : les indicateurs d'entreprises "
               "(créations, secteurs, ancienneté) n'y sont pas encore." if pending is None else
               f"L'extrait n° {pending} de la BCE est chargé, mais ses indicateurs n'ont pas été calculés pour "
               "cette province : relancez « mindit update ».")
        intro = (f"<p class='mindit-economy-source' data-source='statbel'>Source des chiffres : Statbel, unités "
                 f"d'établissement d'après la Banque-Carrefour des Entreprises{_e(when)}. {_e(why)}</p>")
        table = key_figures(prof, economy.STATBEL_FIGURES, older_notes=False).data
        return HTML(f"<div class='mindit-economy'>{intro}{table}{theme_evolution(prof, 'economy').data}</div>")
    frame = economy.kbo_table(prof, snap)
    terrs = [t.display_name for t in economy.kbo_territories(prof)]
    head = "".join(f"<th>{_e(c)}</th>" for c in ["Indicateur", *terrs, "Date de référence"])
    refs = report_sources(prof, report_figures(prof))
    ref = refs.get(economy.DATASET)
    body = "".join(
        f"<tr data-indicator='{_e(r['indicator_id'])}'><th scope='row'>{_e(r['label'])}</th>"
        + "".join(f'<td class="num">{_e(r[c])}</td>' for c in terrs)
        + f"<td>{_e(r['when'])}" + (f" <span class='src'>[{ref}]</span>" if ref else "") + "</td></tr>"
        for r in frame.to_dict("records"))
    intro = (f"<p class='mindit-economy-source' data-source='kbo' data-extract='{snap.number}'>Source des chiffres : "
             f"Banque-Carrefour des Entreprises (BCE/KBO), {_e(snap.text)}. Entreprises au siège (personnes morales) "
             "ou à leur plus ancienne unité d'établissement (personnes physiques) ; unités d'établissement à leur "
             "adresse.</p>")
    sectors = economy.kbo_sectors(prof, snap)
    rows = []
    for r in sectors.to_dict("records"):
        own = "" if r["commune_share"] is None or pd.isna(r["commune_share"]) else format_percent(r["commune_share"])
        prov = "" if r["province_share"] is None or pd.isna(r["province_share"]) else format_percent(
            r["province_share"])
        rows.append(f"<tr><th scope='row'>{_e(r['label'])}</th><td class='num'>{_e(r['commune'])}</td>"
                    f"<td class='num'>{_e(own)}</td><td class='num'>{_e(prov)}</td></tr>")
    province = next(t for t in prof.parents if t.role == "province").display_name
    sector_table = (
        "<table class='mindit-table kbo-sectors'><caption>Entreprises actives par section d'activité principale "
        f"(NACE-BEL), {_e(prof.commune.display_name)}</caption><thead><tr><th>Section</th><th>Entreprises</th>"
        f"<th>Part</th><th>Part, {_e(_lower_first(province))}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows else "")
    notes = ["n.d. (confidentiel) : case de moins de 3 entreprises, ou masquée en plus pour qu'aucune case masquée "
             "ne puisse être retrouvée à partir des totaux publiés.",
             "Créations : entreprises encore actives à la date de l'extrait, par année de début. Cessations : "
             "entreprises supprimées par les extraits de mise à jour appliqués, sur la période qu'ils couvrent ; le "
             "solde n'est donné que pour une année entière couverte.",
             economy.kbo_citation(prof, snap, "Entreprises et unités d'établissement")]
    foot = "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    return HTML(f"<div class='mindit-economy'>{intro}<table class='mindit-table key-figures kbo'><thead><tr>{head}"
                f"</tr></thead><tbody>{body}</tbody></table>{sector_table}{foot}</div>")


def report_sources(prof: Profile, indicators: tuple[str, ...] = REPORT_FIGURES) -> dict[str, int]:
    """Every dataset behind the report's figures, numbered in order of first use (the tables' « [n] »)."""
    key = ("report_sources", indicators)
    if key not in prof.figures.memo:
        seen: dict[str, int] = {}
        for ind_id in (*indicators, "POPULATION_SEX_AGE"):
            for ds in prof.catalogue.sources_of(ind_id):
                seen.setdefault(ds.id, len(seen) + 1)
        prof.figures.memo[key] = seen
    return prof.figures.memo[key]


def sources_and_method(prof: Profile, indicators: tuple[str, ...] | None = None) -> HTML:
    """Sources (numbered, ready to cite: licence, import date as « consulté le », official location), then the
    definitions and method notes of every figure in the report (default: :func:`report_figures`)."""
    indicators = indicators if indicators is not None else report_figures(prof)
    cat = prof.catalogue
    items = []
    for ds_id in report_sources(prof, indicators):
        note = cat.dataset(ds_id).note_fr
        items.append(f"<li>{_e(prof.figures.dataset_citation(ds_id, url=True))}.{_e(' ' + note if note else '')}"
                     "</li>")
    defs = []
    for ind_id in indicators:
        ind = cat.indicator(ind_id)
        method = f" {ind.method_note_fr}" if ind.method_note_fr else ""
        defs.append(f"<li><strong>{_e(ind.label_fr)}</strong> ({_e(ind.unit)}) : {_e(ind.definition_fr)}"
                    f"{_e(method)}</li>")
    articles = {"arrondissement": "de l'arrondissement", "province": "de la province", "region": "de la région",
                "country": "du pays"}
    names = [articles.get(t.role, ROLE_LABELS_FR[t.role].lower()) for t in prof.parents]
    levels = ", ".join(names[:-1]) + " et " + names[-1] if len(names) > 1 else "".join(names)
    return HTML(
        "<h3>Sources</h3><ol class='sources'>" + "".join(items) + "</ol>"
        "<h3>Définitions et méthode</h3><ul class='definitions'>" + "".join(defs) + "</ul>"
        f"<p class='note'>Les valeurs {_e(levels)} sont recalculées à partir des communes : sommes des "
        "effectifs, et ratios de sommes (jamais de moyennes de ratios). Un territoire dont une commune manque "
        "pour une année n'a pas de valeur cette année-là. La superficie utilisée pour la densité est la "
        "superficie cadastrale (Statbel, 2011).</p>")


def yearly_population_table(prof: Profile) -> HTML:
    """Yearly population table (shortcut for the report)."""
    return yearly_table(prof, "POPULATION_BY_COMMUNE")


def yearly_income_table(prof: Profile) -> HTML:
    """Yearly income-per-inhabitant table (shortcut for the report)."""
    return yearly_table(prof, "INCOME_PER_INHABITANT")


def income_note(prof: Profile) -> HTML:
    """Says that income figures lag the population and why."""
    latest = prof.latest("INCOME_PER_INHABITANT")
    year = latest["period"].iloc[0]
    text = _older_note(prof, "INCOME_PER_INHABITANT", None if is_missing(year) else int(year))
    value = format_value(latest["value"].iloc[0], "€/hab.", 0)
    return HTML(f'<p class="note">Dernière valeur : {_e(value)} {_e(text)} Les revenus d’une année sont '
                "déclarés l’année suivante et publiés par Statbel environ deux ans après.</p>")
