"""Any dataset → profile → insights → dashboard + suggested contract, end to end.

Real public datasets shipped inside installed packages (plotly, matplotlib, scikit-learn) and
one generated dataset with planted truths are landed as CSV, ingested by ``raw_tables`` into
``lake.uncontracted``, registered as partitions by the sensor and profiled by materializing the
three profile assets. Every insight is then re-checked with independent SQL on the warehouse
table (and the planted ones against the generator), the dashboards are checked to be single
offline files, and each suggested contract is checked to load the same file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import pytest
import yaml

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.contracts import load_contracts, quote_ident
from analytics_platform.defs.ingestion.files import scan_landing
from analytics_platform.defs.ingestion.loader import ingest
from analytics_platform.defs.reports.profiles import store
from analytics_platform.defs.reports.profiles.assets import PARTITIONS_NAME, profile_assets
from analytics_platform.defs.reports.profiles.profile import compute_profile
from analytics_platform.defs.reports.profiles.sensors import uncontracted_profile_sensor
from analytics_platform.resources import WarehouseResource

PLOTLY_DATA = Path(__import__("plotly").__file__).parent / "package_data" / "datasets"
MPL_DATA = Path(__import__("matplotlib").__file__).parent / "mpl-data" / "sample_data"
RUN_CONFIG = {"ops": {"raw_tables": {"config": {"settle_seconds": 0}}}}

N = 5000
PLANTED_R = 0.9
PLANTED_GROWTH = 0.5  # amount grows by 50% over the year
OUTLIER_SHARE = 0.05
NULL_SHARE = 0.65
REGIONS = {"north": 0.4, "south": 0.3, "east": 0.2, "west": 0.1}
XSS = "</script><script>alert(1)</script>"


# --------------------------------------------------------------------------- datasets


def planted_frame(seed: int = 7) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, 366, N))
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in day]
    amount = 100 * (1 + PLANTED_GROWTH * day / 365) + rng.normal(0, 8, N)
    z1, z2 = rng.standard_normal(N), rng.standard_normal(N)
    ad_spend = 500 + 100 * z1
    visits = 2000 + 300 * (PLANTED_R * z1 + math.sqrt(1 - PLANTED_R**2) * z2)
    delivery = rng.normal(45, 5, N)
    outliers = rng.choice(N, int(OUTLIER_SHARE * N), replace=False)
    delivery[outliers] = rng.uniform(150, 300, len(outliers))
    coupon = rng.choice(["SPRING10", "VIP20", "WELCOME5"], N).astype(object)
    coupon[rng.choice(N, int(NULL_SHARE * N), replace=False)] = None
    region = rng.permutation(np.repeat(list(REGIONS), [int(s * N) for s in REGIONS.values()]))
    shipped = [(d + dt.timedelta(days=int(k))).strftime("%d/%m/%Y") for d, k in zip(dates, rng.integers(1, 6, N))]
    note = rng.choice(["ok", "late", XSS], N, p=[0.8, 0.15, 0.05])
    return {
        "order_id": list(range(1, N + 1)), "order_date": [d.isoformat() for d in dates], "region": list(region),
        "amount": [round(float(a), 2) for a in amount], "ad_spend": [round(float(a), 3) for a in ad_spend],
        "visits": [round(float(v), 3) for v in visits], "delivery_minutes": [round(float(v), 2) for v in delivery],
        "coupon_code": list(coupon), "shipped_on": shipped, "note": list(note),
    }


def write_csv(path: Path, frame: dict[str, list[Any]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(frame)
        writer.writerows(zip(*frame.values()))


def land_real(landing: Path) -> dict[str, Path]:
    """Real datasets from installed packages, in several shapes."""
    from sklearn.datasets import load_breast_cancer

    files = {
        "tips": landing / "tips" / "tips.csv",  # mixed: measures, categories, a yes/no flag
        "gapminder": landing / "gapminder" / "gapminder.csv",  # long panel: country × year
        "wind": landing / "wind" / "wind.csv",  # mostly text
        "mpl_stocks": landing / "mpl_stocks" / "Stocks.csv",  # wide time series, comment line, gaps
        "msft": landing / "msft" / "msft.csv",  # dates as text (19-Sep-03)
        "breast_cancer": landing / "breast_cancer" / "breast_cancer.csv",  # wide numeric (31 columns)
    }
    for name in ("tips", "gapminder", "wind"):
        files[name].parent.mkdir(parents=True)
        files[name].write_bytes(gzip.decompress((PLOTLY_DATA / f"{name}.csv.gz").read_bytes()))
    for name, source in (("mpl_stocks", "Stocks.csv"), ("msft", "msft.csv")):
        files[name].parent.mkdir(parents=True)
        shutil.copy(MPL_DATA / source, files[name])
    files["breast_cancer"].parent.mkdir(parents=True)
    load_breast_cancer(as_frame=True).frame.to_csv(files["breast_cancer"], index=False)
    return files


# --------------------------------------------------------------------------- the platform, once


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("profiles")
    landing = tmp / "landing"
    files = land_real(landing)
    frame = planted_frame()
    files["planted__orders"] = landing / "planted" / "orders" / "orders.csv"
    write_csv(files["planted__orders"], frame)
    warehouse = WarehouseResource(state_dir=str(tmp / "state"), landing_dir=str(landing))
    resources = {"warehouse": warehouse}
    timings: dict[str, float] = {}

    start = time.perf_counter()
    result = dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG)
    assert result.success
    timings["ingest"] = time.perf_counter() - start

    instance = dg.DagsterInstance.ephemeral()
    sensor_result = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(sensor_result, dg.SensorResult)
    added = [k for r in sensor_result.dynamic_partitions_requests for k in r.partition_keys]  # type: ignore[union-attr]
    instance.add_dynamic_partitions(PARTITIONS_NAME, added)

    materializations: dict[str, dict[str, Any]] = {}
    for request in [r for r in sensor_result.run_requests or [] if r.partition_key in DATASETS]:
        start = time.perf_counter()
        run = dg.materialize(profile_assets, partition_key=request.partition_key, instance=instance, resources=resources)
        assert run.success, request.partition_key
        timings[request.partition_key] = time.perf_counter() - start  # type: ignore[index]
        materializations[request.partition_key] = {  # type: ignore[index]
            ".".join(m.asset_key.path): m.metadata
            for m in (e.event_specific_data.materialization for e in run.get_asset_materialization_events())  # type: ignore[union-attr]
        }
    with warehouse.connect() as con:
        profiles = {name: store.load(con, name) for name in DATASETS}
        # One more real dataset profiled by the function alone (no Dagster run): dates as text.
        profiles["msft"] = compute_profile(con, "msft")
    print("\nprofile timings (s):", {k: round(v, 2) for k, v in timings.items()})
    for name, p in profiles.items():
        print(f"\n== {name}: {p['rows']:,} rows × {len(p['columns'])} columns, profiled in {p['timings']['total']:.2f} s")  # type: ignore[index]
        for insight in p["insights"]:  # type: ignore[index]
            print("  -", insight["text"])
    return {
        "tmp": tmp, "landing": landing, "files": files, "frame": frame, "warehouse": warehouse, "resources": resources,
        "instance": instance, "sensor_result": sensor_result, "added": added, "profiles": profiles,
        "materializations": materializations, "reports": warehouse.settings.reports_dir / "profiles",
    }


DATASETS = ["planted__orders", "tips", "gapminder", "wind", "mpl_stocks", "breast_cancer"]  # materialized through Dagster
ALL = [*DATASETS, "msft"]


def test_sensor_adds_a_partition_per_dataset_and_requests_one_run_each(platform: dict[str, Any]) -> None:
    result = platform["sensor_result"]
    assert sorted(platform["added"]) == sorted(ALL)
    assert sorted(r.partition_key for r in result.run_requests) == sorted(ALL)
    assert all(set(r.asset_selection) == {a.key for a in profile_assets} for r in result.run_requests)
    # Nothing changed: the next tick (with the cursor) skips; a new file re-profiles only its dataset.
    context = dg.build_sensor_context(instance=platform["instance"], resources=platform["resources"], cursor=result.cursor)
    assert isinstance(uncontracted_profile_sensor(context), dg.SkipReason)


def test_sensor_waits_for_a_warehouse(tmp_path: Path) -> None:
    resources = {"warehouse": WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(tmp_path / "landing"))}
    result = uncontracted_profile_sensor(dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), resources=resources))
    assert isinstance(result, dg.SkipReason) and not (tmp_path / "state").exists()  # nothing created by looking


def test_sensor_reprofiles_only_a_changed_dataset(platform: dict[str, Any], tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(platform["landing"] / "wind", landing / "wind")
    warehouse = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(landing))
    resources = {"warehouse": warehouse}
    assert dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG).success
    instance = dg.DagsterInstance.ephemeral()
    first = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert [r.partition_key for r in first.run_requests] == ["wind"]
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["wind"])
    text = (landing / "wind" / "wind.csv").read_text().splitlines()
    (landing / "wind" / "wind_more.csv").write_text("\n".join([text[0], *text[1:40]]) + "\n")
    assert dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG).success
    second = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
    assert [r.partition_key for r in second.run_requests] == ["wind"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert not second.dynamic_partitions_requests


# --------------------------------------------------------------------------- planted truths


def _one(p: dict[str, Any], kind: str, **match: Any) -> dict[str, Any]:
    found = [i for i in p["insights"] if i["kind"] == kind and all(i.get(k) == v for k, v in match.items())]
    assert found, f"no {kind} insight matching {match}: {[i['text'] for i in p['insights']]}"
    return found[0]


def test_planted_truths_are_stated_with_correct_numbers(platform: dict[str, Any]) -> None:
    p, frame = platform["profiles"]["planted__orders"], platform["frame"]
    assert len(p["insights"]) >= 5

    corr = _one(p, "correlation")
    assert {corr["a"], corr["b"]} == {"ad_spend", "visits"}
    true_r = float(np.corrcoef(frame["ad_spend"], frame["visits"])[0, 1])
    assert corr["r"] == pytest.approx(true_r, abs=1e-9) and abs(corr["r"] - PLANTED_R) < 0.02
    assert f"r = {true_r:.2f}" in corr["text"] and corr["n"] == N

    trend = _one(p, "trend", measure="amount")
    assert trend["direction"] == "up" and trend["r2"] > 0.9 and trend["time_column"] == "order_date"
    # planted: +50% over the year; the fitted line runs from the first to the last period's start
    assert 44 <= trend["pct_change"] <= 54, trend["text"]
    assert f"{trend['pct_change']:+.1f}%" in trend["text"] and "rises" in trend["text"]

    out = _one(p, "outliers")
    true_share = sum(1 for v in frame["delivery_minutes"] if not (out["low"] <= v <= out["high"])) / N
    assert out["column"] == "delivery_minutes" and out["share"] == pytest.approx(true_share)
    assert OUTLIER_SHARE <= out["share"] <= OUTLIER_SHARE + 0.003, out["text"]
    assert f"{100 * out['share']:.1f}%" in out["text"]

    nulls = _one(p, "nulls", column="coupon_code")
    assert nulls["null_rate"] == NULL_SHARE and "65.0%" in nulls["text"] and f"{int(NULL_SHARE * N):,}" in nulls["text"]

    top = _one(p, "top_category", column="region")
    assert top["value"] == "north" and top["share"] == REGIONS["north"] and "40.0%" in top["text"]

    assert _one(p, "key")["primary_key"] == ["order_id"]
    shipped = _one(p, "date_text", column="shipped_on")
    assert shipped["format"] == "%d/%m/%Y" and shipped["parse_rate"] == 1.0


# --------------------------------------------------------------------------- every insight is true


def _verify(con: duckdb.DuckDBPyConnection, p: dict[str, Any], insight: dict[str, Any]) -> None:
    """Recompute what the insight states with independent SQL on the warehouse table."""
    table = f"uncontracted.{quote_ident(p['dataset'])}"
    cols = {c["name"]: c for c in p["columns"]}

    def q(name: str) -> str:
        return quote_ident(name)

    def x(name: str) -> str:
        return f"(CASE WHEN isfinite({q(name)}::DOUBLE) THEN {q(name)}::DOUBLE END)"

    def one(sql: str) -> Any:
        return con.execute(sql).fetchone()

    kind = insight["kind"]
    assert re.search(r"\d", insight["text"]), f"insight without a number: {insight['text']}"
    if kind == "correlation":
        r, n = one(f"SELECT corr({x(insight['a'])}, {x(insight['b'])}), regr_count({x(insight['a'])}, {x(insight['b'])}) FROM {table}")
        assert insight["r"] == pytest.approx(r, abs=1e-9) and insight["n"] == n
        assert f"{r:.2f}" in insight["text"]
    elif kind == "top_category":
        n, nonnull = one(f"SELECT count(*) FILTER (WHERE {q(insight['column'])}::VARCHAR = ?), count({q(insight['column'])}) FROM {table}".replace("?", "'" + str(insight["value"]).replace("'", "''") + "'"))
        assert insight["count"] == n and insight["share"] == pytest.approx(n / nonnull)
        most = one(f"SELECT max(c) FROM (SELECT count(*) c FROM {table} WHERE {q(insight['column'])} IS NOT NULL GROUP BY {q(insight['column'])})")[0]
        assert n == most
        assert f"{100 * n / nonnull:.1f}%" in insight["text"]
    elif kind == "nulls":
        nulls, rows = one(f"SELECT count(*) - count({q(insight['column'])}), count(*) FROM {table}")
        assert insight["nulls"] == nulls and insight["null_rate"] == pytest.approx(nulls / rows)
        assert f"{100 * nulls / rows:.1f}%" in insight["text"]
    elif kind == "completeness":
        names = list(cols)
        filled = one(f"SELECT ({' + '.join(f'count({q(n)})' for n in names)}) / (count(*) * {len(names)}) FROM {table}")[0]
        assert insight["filled"] == pytest.approx(filled)
    elif kind == "outliers":
        if insight["count"]:
            n, finite = one(f"SELECT count(*) FILTER (WHERE {x(insight['column'])} < {insight['low']!r} OR {x(insight['column'])} > {insight['high']!r}), count({x(insight['column'])}) FROM {table}")
            assert insight["count"] == n and insight["share"] == pytest.approx(n / finite)
        else:
            for c in p["columns"]:
                if c["kind"] == "measure" and c["outliers"]["low"] is not None:
                    o = c["outliers"]
                    assert one(f"SELECT count(*) FILTER (WHERE {x(c['name'])} < {o['low']!r} OR {x(c['name'])} > {o['high']!r}) FROM {table}")[0] == 0
    elif kind == "skew":
        g, mean, median = one(f"SELECT skewness({x(insight['column'])}), avg({x(insight['column'])}), median({x(insight['column'])}) FROM {table}")
        assert insight["skewness"] == pytest.approx(g, rel=1e-6) and insight["mean"] == pytest.approx(mean) and insight["median"] == pytest.approx(median)
        others = [one(f"SELECT abs(skewness({x(c['name'])})) FROM {table}")[0] or 0 for c in p["columns"] if c["kind"] == "measure"]
        assert abs(g) == pytest.approx(max(others))
    elif kind == "segment":
        cat, measure = insight["columns"]
        rows = dict(con.execute(f"SELECT {q(cat)}::VARCHAR, avg({x(measure)}) FROM {table} WHERE {q(cat)} IS NOT NULL GROUP BY 1").fetchall())
        assert rows[insight["highest"]] == pytest.approx(insight["highest_mean"]) and rows[insight["lowest"]] == pytest.approx(insight["lowest_mean"])
        shown = [g["value"] for g in p["segments"]["groups"]]
        assert insight["highest_mean"] == pytest.approx(max(rows[v] for v in shown if rows[v] is not None))
    elif kind == "trend":
        t = p["trend"]
        expr = cols[t["time_column"]]["time"]["expr"]
        points = con.execute(
            f"SELECT date_trunc('{t['grain']}', {expr}) AS p, avg({x(insight['measure'])}) FROM {table} WHERE {expr} IS NOT NULL GROUP BY 1 HAVING count({x(insight['measure'])}) > 0 ORDER BY 1"
        ).fetchall()
        days = np.array([(pt - points[0][0]).total_seconds() / 86400 for pt, _ in points])
        ys = np.array([v for _, v in points])
        log = ys.min() > 0 and ys.max() / ys.min() >= 10
        slope, intercept = np.polyfit(days, np.log(ys) if log else ys, 1)
        start, end = intercept, intercept + slope * days[-1]
        start, end = (math.exp(start), math.exp(end)) if log else (start, end)
        assert insight["start"] == pytest.approx(start, rel=1e-6) and insight["end"] == pytest.approx(end, rel=1e-6)
        if insight["pct_change"] is not None:
            assert insight["pct_change"] == pytest.approx((end - start) / abs(start) * 100, rel=1e-6)
        if insight["direction"] != "flat":
            assert (slope > 0) == (insight["direction"] == "up")
    elif kind == "time_coverage":
        expr = cols[insight["column"]]["time"]["expr"]
        lo, hi = one(f"SELECT min({expr}), max({expr}) FROM {table}")
        assert insight["min"] == lo.isoformat() and insight["max"] == hi.isoformat()
        assert str(lo)[:10] in insight["text"] and str(hi)[:10] in insight["text"]
    elif kind == "date_text":
        info = cols[insight["column"]]["time"]
        parsed, nonnull = one(f"SELECT count({info['expr']}), count({q(insight['column'])}) FROM {table}")
        assert insight["parse_rate"] == pytest.approx(parsed / nonnull) and parsed / nonnull >= 0.95
    elif kind == "key":
        key = insight["primary_key"]
        if key:
            cols_sql = ", ".join(q(k) for k in key)
            distinct = one(f"SELECT count(*) FROM (SELECT DISTINCT {cols_sql} FROM {table})")[0]
            rows, nulls = one(f"SELECT count(*), count(*) FILTER (WHERE {' OR '.join(f'{q(k)} IS NULL' for k in key)}) FROM {table}")
            assert distinct == rows and nulls == 0
    elif kind == "duplicates":
        names = ", ".join(q(n) for n in cols)
        rows, distinct = one(f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {names} FROM {table})) FROM {table}")
        assert insight["duplicates"] == rows - distinct
    elif kind == "shape":
        assert insight["rows"] == one(f"SELECT count(*) FROM {table}")[0]
        assert insight["column_count"] == len(con.execute(f"DESCRIBE {table}").fetchall()) - 3  # lineage columns
    elif kind == "spread":
        stats = one(f"SELECT quantile_cont({x(insight['column'])}, 0.25), quantile_cont({x(insight['column'])}, 0.75), median({x(insight['column'])}), min({x(insight['column'])}), max({x(insight['column'])}) FROM {table}")
        assert [insight[k] for k in ("q25", "q75", "median", "min", "max")] == pytest.approx(list(stats))
    elif kind == "text_lengths":
        col = q(insight["column"])
        assert [insight[k] for k in ("min_length", "max_length", "avg_length", "distinct")] == pytest.approx(
            list(one(f"SELECT min(length({col})), max(length({col})), avg(length({col})), count(DISTINCT {col}) FROM {table}"))
        )
    elif kind == "constant":
        for name in insight["columns"]:
            assert one(f"SELECT count(DISTINCT {q(name)}) FROM {table}")[0] <= 1
    else:
        raise AssertionError(f"unverified insight kind {kind}")


@pytest.mark.parametrize("dataset", ALL)
def test_every_insight_is_true_of_the_data(platform: dict[str, Any], dataset: str) -> None:
    p = platform["profiles"][dataset]
    assert len(p["insights"]) >= 5, [i["text"] for i in p["insights"]]
    with platform["warehouse"].connect(read_only=True) as con:
        for insight in p["insights"]:
            _verify(con, p, insight)


def test_real_datasets_say_what_is_known_about_them(platform: dict[str, Any]) -> None:
    profiles = platform["profiles"]
    tips = profiles["tips"]
    assert {_one(tips, "correlation")["a"], _one(tips, "correlation")["b"]} == {"total_bill", "tip"}
    assert _one(tips, "top_category", column="day")["value"] == "Sat"
    gap = profiles["gapminder"]
    assert gap["main_time"] == "year" and gap["primary_key"] == ["country", "year"]
    assert _one(gap, "trend")["direction"] == "up"  # world GDP per capita grew from 1952 to 2007
    assert _one(gap, "top_category", column="continent")["value"] == "Africa"
    assert _one(profiles["msft"], "date_text", column="Date")["format"] == "%d-%b-%y"
    stocks = profiles["mpl_stocks"]
    assert stocks["main_time"] == "Date" and _one(stocks, "nulls", column="DELL")["null_rate"] > 0.5
    wide = profiles["breast_cancer"]
    assert len(wide["columns"]) == 31 and len(wide["correlations"]["columns"]) == 30
    assert abs(_one(wide, "correlation")["r"]) > 0.99  # radius, perimeter and area are near-collinear
    assert {c["kind"] for c in profiles["wind"]["columns"]} == {"category", "measure"}


def test_asset_metadata(platform: dict[str, Any]) -> None:
    meta = platform["materializations"]["planted__orders"]
    profile = meta["reports.dataset_profile"]
    assert profile["dagster/row_count"].value == N and profile["columns"].value == 10
    assert len(profile["insights"].value) >= 5 and "order_id" in profile["summary"].value
    assert Path(profile["profile_json"].value).is_file()
    assert Path(meta["reports.dataset_dashboard"]["dashboard"].value).is_file()
    assert meta["reports.suggested_contract"]["adoptable"].value is True
    for asset in profile_assets:
        spec = next(iter(asset.specs))
        assert spec.group_name == "reports" and spec.owners and spec.description and spec.kinds
    assert next(iter(profile_assets[0].specs)).deps[0].asset_key == dg.AssetKey(["raw", "uncontracted"])


# --------------------------------------------------------------------------- dashboard


@pytest.mark.parametrize("dataset", DATASETS)
def test_dashboard_is_one_offline_file(platform: dict[str, Any], dataset: str) -> None:
    page = (platform["reports"] / f"{dataset}.html").read_text()
    assert not re.search(r"<script[^>]+src\s*=", page, re.IGNORECASE)  # nothing fetched: no CDN, no file
    assert "<link" not in page and "@import" not in page
    assert "plotly.js v" in page and len(page) > 3_000_000  # plotly.js inlined
    assert "prefers-color-scheme: dark" in page and 'name="viewport"' in page
    assert int(re.search(r'data-charts="(\d+)"', page).group(1)) >= 3  # type: ignore[union-attr]
    assert XSS not in page and "<script>alert(1)" not in page
    plain = re.sub(r"</?code>", "", page)
    for insight in platform["profiles"][dataset]["insights"]:
        assert html.escape(insight["text"].replace("`", "")) in plain


def test_dashboard_figures_are_valid_plotly(platform: dict[str, Any]) -> None:
    import plotly.graph_objects as go

    from analytics_platform.defs.reports.profiles.dashboard import figures

    for dataset in ("planted__orders", "mpl_stocks", "breast_cancer"):
        for section in figures(platform["profiles"][dataset]).values():
            for fig in section:
                go.Figure(fig)  # the dicts are rendered unvalidated for speed; the schema check happens here


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed (the browser tests render the pages)")
def test_dashboard_scripts_parse(platform: dict[str, Any], tmp_path: Path) -> None:
    page = (platform["reports"] / "planted__orders.html").read_text()
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) >= 4
    for i, script in enumerate(scripts):
        path = tmp_path / f"s{i}.js"
        path.write_text(script)
        check = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr[:500]


# --------------------------------------------------------------------------- suggested contracts


@pytest.mark.parametrize("dataset", DATASETS)
def test_suggested_contract_fits_the_data(platform: dict[str, Any], dataset: str) -> None:
    text = (platform["reports"] / f"{dataset}.contract.yaml").read_text()
    raw = yaml.safe_load(text)
    assert set(raw) >= {"source", "table", "description", "file_pattern", "format", "primary_key", "columns"}
    file = platform["files"][dataset]
    relative = file.relative_to(platform["landing"]).as_posix()
    import fnmatch

    assert fnmatch.fnmatchcase(relative, raw["file_pattern"])
    p = platform["profiles"][dataset]
    assert raw["primary_key"] == p["primary_key"]
    if p["main_time"]:
        assert raw["incremental_key"] == p["main_time"]
    # Every value of the file, read as text, casts to the declared type; required columns are never empty.
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{file}', all_varchar=true, sample_size=-1)")
    probes = ", ".join(
        f"count(*) FILTER (WHERE {quote_ident(c['name'])} IS NOT NULL AND TRY_CAST({quote_ident(c['name'])} AS {c['type']}) IS NULL), "
        f"count(*) FILTER (WHERE {quote_ident(c['name'])} IS NULL)"
        for c in raw["columns"]
    )
    counts = con.execute(f"SELECT {probes} FROM t").fetchone()
    for i, c in enumerate(raw["columns"]):
        assert counts[2 * i] == 0, f"{c['name']} does not cast to {c['type']}"
        if c.get("required"):
            assert counts[2 * i + 1] == 0, f"{c['name']} is required but has empty values"
    assert {c["name"] for c in raw["columns"]} == {c["name"] for c in p["columns"]}


ADOPTABLE = ["planted__orders", "wind"]


@pytest.mark.parametrize("dataset", ADOPTABLE)
def test_adopting_the_contract_loads_the_same_file(platform: dict[str, Any], dataset: str, tmp_path: Path) -> None:
    """Copy the suggestion into a contracts folder and ingest the file again: no quarantine."""
    text = (platform["reports"] / f"{dataset}.contract.yaml").read_text()
    assert "NOT adoptable" not in text
    raw = yaml.safe_load(text)
    contracts_dir = tmp_path / "contracts"
    contracts_dir.mkdir()
    (contracts_dir / f"{raw['source']}__{raw['table']}.yaml").write_text(text)
    contracts = load_contracts.__wrapped__(contracts_dir)
    landing = tmp_path / "landing"
    relative = platform["files"][dataset].relative_to(platform["landing"])
    (landing / relative).parent.mkdir(parents=True)
    shutil.copy(platform["files"][dataset], landing / relative)
    warehouse = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(landing))
    with warehouse.connect() as con:
        report = ingest(con, scan_landing(landing, 0), contracts, tmp_path / "quarantine", "test-run")
        contract = contracts[0]
        assert not report.quarantined, report.quarantined
        assert [f["rows"] for f in report.loaded[contract.name]] == [platform["profiles"][dataset]["rows"]]
        key = ", ".join(quote_ident(k) for k in contract.primary_key)
        dupes = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {contract.qualified_table} GROUP BY ALL HAVING count(*) > 1)").fetchone()
        assert dupes == (0,)


def test_contracts_that_cannot_be_adopted_say_why(platform: dict[str, Any]) -> None:
    reasons = {"gapminder": "not identifiers", "mpl_stocks": "not identifiers", "breast_cancer": "not identifiers",  # lifeExp, ^GSPC, "mean radius"
               "tips": "no column (or pair) is unique"}  # tips has a duplicate row: no key at all
    for dataset, reason in reasons.items():
        text = (platform["reports"] / f"{dataset}.contract.yaml").read_text()
        assert "# NOT adoptable as-is" in text and reason in text
        assert platform["materializations"][dataset]["reports.suggested_contract"]["adoptable"].value is False


# --------------------------------------------------------------------------- scale


def test_profiles_a_million_rows_in_seconds(tmp_path: Path) -> None:
    warehouse = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(tmp_path / "landing"))
    with warehouse.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS uncontracted")
        con.execute(
            """
            CREATE TABLE uncontracted.big AS
            SELECT range + 1 AS event_id,
                   TIMESTAMP '2024-01-01' + to_seconds(range * 31) AS occurred_at,
                   ['web', 'app', 'store', 'partner'][1 + (hash(range) % 4)::INT] AS channel,
                   'customer_' || (hash(range * 7) % 50000)::VARCHAR AS customer,
                   round(20 + range / 20000.0 + 10 * random(), 2) AS amount,
                   round(random() * 100, 1) AS score,
                   CASE WHEN random() < 0.3 THEN NULL ELSE round(random() * 5, 1) END AS rating,
                   random() < 0.1 AS returned,
                   NULL::VARCHAR AS _source_file, NULL::VARCHAR AS _file_hash, NULL::TIMESTAMP AS _loaded_at
            FROM range(1000000)
            """
        )
        start = time.perf_counter()
        p = compute_profile(con, "big")
        elapsed = time.perf_counter() - start
    print(f"\n1M rows × 8 columns profiled in {elapsed:.2f} s: {p['timings']}")
    assert p["rows"] == 1_000_000 and p["primary_key"] == ["event_id"] and not p["exact"]
    assert _one(p, "trend", measure="amount")["direction"] == "up"
    assert _one(p, "nulls", column="rating")["null_rate"] == pytest.approx(0.3, abs=0.01)
    assert elapsed < float(os.environ.get("PROFILE_1M_BUDGET_S", "20")), elapsed
