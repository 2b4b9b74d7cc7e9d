"""The CDNOW figures the demo report prints, checked against numpy/pandas computations of the
textbook definitions on the raw file, read here independently of the SQL loader."""
import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, connect, psql, scalar

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def revenue():
    orders = pd.read_csv(
        ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+",
        dtype={"customer_id": int, "date": str, "number_of_cds": int, "dollar_value": float},
    )
    assert len(orders) == 69659
    per_customer = orders.groupby("customer_id")["dollar_value"].sum()
    assert len(per_customer) == 23570
    return np.sort(per_customer.to_numpy())  # ascending


def gini(x):
    """Gini as in R ineq / PySAL: 2 Σ i x_(i) / (n Σ x) - (n + 1)/n, x ascending."""
    n = len(x)
    return 2 * np.sum(np.arange(1, n + 1) * x) / (n * x.sum()) - (n + 1) / n


def top_share(x, p):
    """Share of the largest p·n values, interpolating linearly within a unit."""
    descending = x[::-1]
    cumulative = np.concatenate([[0.0], np.cumsum(descending)]) / x.sum()
    return np.interp(p * len(x), np.arange(len(x) + 1), cumulative)


def pareto_ratio(x, q):
    descending = x[::-1]
    cumulative = np.concatenate([[0.0], np.cumsum(descending)]) / x.sum()
    return np.interp(q, cumulative, np.arange(len(x) + 1)) / len(x)


REVENUE_PER_CUSTOMER = "(SELECT customer_id, sum(amount) AS revenue FROM cdnow_orders GROUP BY 1) r"


def test_cdnow_gini_and_hhi_match_numpy(db, revenue):
    g, gu, h, hn = db.execute(
        f"SELECT gini(revenue), gini_unbiased(revenue), hhi(revenue), hhi_normalized(revenue) FROM {REVENUE_PER_CUSTOMER}"
    ).fetchone()
    n = len(revenue)
    shares = revenue / revenue.sum()
    assert g == pytest.approx(gini(revenue), abs=TOLERANCE)
    assert gu == pytest.approx(gini(revenue) * n / (n - 1), abs=TOLERANCE)
    assert h == pytest.approx(np.sum(shares**2), abs=TOLERANCE)
    assert hn == pytest.approx((np.sum(shares**2) - 1 / n) / (1 - 1 / n), abs=TOLERANCE)


@pytest.mark.parametrize("p", [0.01, 0.05, 0.10, 0.20, 0.5, 0.123])
def test_cdnow_top_shares_match_numpy(db, revenue, p):
    assert scalar(db, f"SELECT top_share(revenue, %s) FROM {REVENUE_PER_CUSTOMER}", (p,)) == pytest.approx(
        top_share(revenue, p), abs=TOLERANCE
    )


@pytest.mark.parametrize("q", [0.5, 0.8, 0.95])
def test_cdnow_pareto_ratio_matches_numpy(db, revenue, q):
    assert scalar(db, f"SELECT pareto_ratio(revenue, %s) FROM {REVENUE_PER_CUSTOMER}", (q,)) == pytest.approx(
        pareto_ratio(revenue, q), abs=TOLERANCE
    )


def test_the_demo_report_prints_these_figures(database, revenue):
    out = psql(database, file=ROOT / "scripts/cdnow_report.sql")
    assert "23,570" in out
    assert f"${revenue.sum():,.2f}" in out
    assert f"{gini(revenue):.4f}" in out
    for p in (0.01, 0.05, 0.10, 0.20):
        assert f"{100 * top_share(revenue, p):.1f} %" in out
    assert f"{100 * pareto_ratio(revenue, 0.8):.1f} %" in out


def test_the_demo_report_prints_the_abc_table(database):
    from test_abc import pandas_abc_by_value

    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    revenue = orders.groupby("customer_id")["dollar_value"].sum().round(2)
    classes = pandas_abc_by_value(revenue, 0.8, 0.95)
    out = psql(database, file=ROOT / "scripts/cdnow_report.sql")
    for cls in "ABC":
        members = classes == cls
        rows = [[c.strip() for c in line.split("|")] for line in out.splitlines() if "|" in line]
        cells = next(row for row in rows if row[0] == cls)
        assert cells[1] == f"{members.sum():,}"
        assert cells[2] == f"{100 * members.mean():.1f} %"
        assert cells[3] == f"{100 * revenue[members].sum() / revenue.sum():.1f} %"


def test_the_demo_report_prints_the_rfm_segment_table(database):
    from test_rfm import ISSUE_TABLE, first_match, pandas_score

    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    per_customer = orders.groupby("customer_id").agg(
        last=("date", "max"), frequency=("date", "size"), revenue=("dollar_value", "sum"))
    scores = pd.DataFrame({k: pandas_score(per_customer[c]) for k, c in
                           [("r", "last"), ("f", "frequency"), ("m", "revenue")]})
    segment = scores.apply(lambda s: first_match(ISSUE_TABLE, (s.r, s.f, s.m)), axis=1)
    out = psql(database, file=ROOT / "scripts/cdnow_report.sql")
    rows = report_rows(out, "RFM segments of CDNOW customers")
    arpu_all = per_customer["revenue"].mean()
    for name, members in per_customer.groupby(segment):
        cells = rows[name]
        assert cells[1] == f"{len(members):,}"
        share = 100 * len(members) / len(per_customer)
        assert cells[2] == (f"{share:.2f} %" if share < 1 else f"{share:.1f} %")  # two decimals below 1 %
        revenue_share = 100 * members["revenue"].sum() / per_customer["revenue"].sum()
        assert cells[4] == (f"{revenue_share:.2f} %" if revenue_share < 1 else f"{revenue_share:.1f} %")
        assert cells[3] == f"${members['revenue'].sum():,.0f}"
        assert cells[5] == f"${members['revenue'].mean():,.2f}"
        assert cells[6] == f"{members['revenue'].mean() / arpu_all:.2f}"


def report_rows(out, title):
    """The rows of one table of the report (the lines with '|' after the title, up to the next
    blank line), by their first cell."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        if "|" in line:
            cells = [c.strip() for c in line.split("|")]
            rows[cells[0]] = cells
    return rows


def test_the_demo_report_prints_the_value_table(database):
    """Each segment's 12-month value, recomputed customer by customer with `lifetimes` 0.11.3
    (customer_lifetime_value: months of 30 days, 1 % a month) from the report's own fitted
    parameters and histories: the segment sums agree to the dollar."""
    import json

    from lifetimes import BetaGeoFitter, GammaGammaFitter

    with connect(database) as conn:
        rows = conn.execute(
            """WITH history AS (
                   SELECT customer_id, (btyd_history(order_date, amount, '1997-09-30', '7 days')).*
                   FROM cdnow_orders GROUP BY customer_id)
               SELECT s.segment, h.x, h.t_x, h."T", h.mean_spend
               FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders
                                WHERE order_date <= '1997-09-30'), as_of => '1997-09-30') s
               JOIN history h USING (customer_id)""").fetchall()
        models = conn.execute(
            """SELECT bgnbd_fit(x, t_x, "T")::text, (gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0))::text
               FROM (SELECT (btyd_history(order_date, amount, '1997-09-30', '7 days')).* FROM cdnow_orders
                     GROUP BY customer_id) h""").fetchone()
    purchases, spend = json.loads(models[0]), json.loads(models[1])
    customers = pd.DataFrame(rows, columns=["segment", "x", "t_x", "T", "mean_spend"])
    # A repeat customer whose repeat days were all $0 has no spend to model: left out, as the
    # report leaves them out with nullif.
    customers = customers[(customers.x == 0) | (customers.mean_spend > 0)].copy()
    # The model in days (alpha x 7), where lifetimes' months are exactly 30 days.
    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(dict(r=purchases["r"], alpha=purchases["alpha"] * 7, a=purchases["a"], b=purchases["b"]))
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series(dict(p=spend["p"], q=spend["q"], v=spend["gamma"]))
    customers["clv"] = ggf.customer_lifetime_value(
        bgf, customers.x, customers.t_x * 7, customers["T"] * 7, customers.mean_spend.fillna(0.0),
        time=12, discount_rate=0.01, freq="D").values
    out = psql(database, file=ROOT / "scripts/cdnow_report.sql")
    table = report_rows(out, "What CDNOW customers are worth")
    total = customers.clv.sum()
    for name, members in customers.groupby("segment"):
        cells = table[name]
        printed = float(cells[2].replace("$", "").replace(",", ""))
        assert printed == pytest.approx(members.clv.sum(), abs=1.0), name
        assert cells[4] == f"{100 * members.clv.sum() / total:.1f} %"


def segments_from_raw(until):
    """The default RFM segment of every CDNOW customer from the raw file's orders up to
    `until` (YYYYMMDD), scored with pandas (test_rfm's ranking and rule table); and revenue."""
    from test_rfm import ISSUE_TABLE, first_match, pandas_score

    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    orders = orders[orders.date <= until]
    per_customer = orders.groupby("customer_id").agg(
        last=("date", "max"), frequency=("date", "size"), revenue=("dollar_value", "sum"))
    scores = pd.DataFrame({k: pandas_score(per_customer[c]) for k, c in
                           [("r", "last"), ("f", "frequency"), ("m", "revenue")]})
    per_customer["segment"] = scores.apply(lambda s: first_match(ISSUE_TABLE, (s.r, s.f, s.m)), axis=1)
    return per_customer


def test_the_demo_report_prints_churn_per_segment(database):
    """Churn in 1998 H1 of the segments of 1997-12-31, from the raw file with pandas; the
    interval with statsmodels' Wilson interval; the revenue churned as a ratio of sums."""
    from statsmodels.stats.proportion import proportion_confint

    before = segments_from_raw("19971231")
    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    bought_later = set(orders[orders.date > "19971231"].customer_id)
    before["churned"] = ~before.index.isin(bought_later)
    rows = report_rows(psql(database, file=ROOT / "scripts/cdnow_report.sql"), "Churn per RFM segment")
    for name, members in before.groupby("segment"):
        cells = rows[name]
        churned, n = members.churned.sum(), len(members)
        low, high = proportion_confint(churned, n, alpha=0.05, method="wilson")
        assert cells[1:4] == [f"{n:,}", f"{100 * churned / n:.1f} %", f"{100 * low:.1f} .. {100 * high:.1f} %"]
        lost = members.revenue[members.churned].sum() / members.revenue.sum()
        assert cells[4] == f"{100 * lost:.1f} %"


def test_the_demo_report_prints_the_migration(database):
    """Moves between the segments of 1997-12-31 and 1998-06-30: a pandas crosstab of the
    segments scored from the raw file."""
    before, after = segments_from_raw("19971231"), segments_from_raw("19980630")
    pairs = before[["segment"]].join(after[["segment"]], how="outer", lsuffix="_before", rsuffix="_after")
    table = pd.crosstab(pairs.segment_before, pairs.segment_after)
    out = psql(database, file=ROOT / "scripts/cdnow_report.sql")
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Migration between RFM segments"))
    moves = [[c.strip() for c in line.split("|")] for line in lines[start + 3:start + 11]]
    for from_segment, to_segment, customers, share in moves:
        assert from_segment != to_segment
        assert customers == f"{table.loc[from_segment, to_segment]:,}"
        assert share == f"{100 * table.loc[from_segment, to_segment] / table.loc[from_segment].sum():.1f} %"
    largest = sorted((table.loc[f, t] for f in table.index for t in table.columns if f != t), reverse=True)[:8]
    assert [int(m[2].replace(",", "")) for m in moves] == largest
    changed = (pairs.segment_before != pairs.segment_after).mean()
    start = next(i for i, line in enumerate(lines) if line.startswith("Fluctuation between RFM segments"))
    assert lines[start + 3].strip() == f"{100 * changed:.1f} %"  # one column: title, header, rule, value


def test_the_demo_draws_its_pictures(database, tmp_path):
    """scripts/pictures.py, as the demo runs it, writes its four charts."""
    import subprocess
    import sys

    subprocess.run([sys.executable, str(ROOT / "scripts/pictures.py"), database, str(tmp_path)], check=True)
    for name in ("lorenz", "pareto_abc", "segments", "migration"):
        picture = tmp_path / f"{name}.png"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000


def test_the_demo_report_says_what_to_do_with_each_segment(database):
    """Every segment of the RFM table but Others has its action, the one rfm_segment_rules()
    gives."""
    out = psql(database, file=ROOT / "scripts/cdnow_report.sql")
    segments = set(report_rows(out, "RFM segments of CDNOW customers")) - {"segment", "Others"}
    actions = report_rows(out, "What to do with each RFM segment")
    with connect(database) as conn:
        rules = {r["name"]: r["action"] for r in conn.execute("SELECT rfm_segment_rules()").fetchone()[0]}
    assert segments and all(actions[s][1] == rules[s] for s in segments)
