"""The demo's pictures of CDNOW, drawn with matplotlib from what rfm_segment computes in the
database: the Lorenz curve with its 80/20 point, the Pareto/ABC chart, segment sizes against
revenue shares, and the migration between two half-years as a heatmap.

Usage: pictures.py DATABASE OUTPUT_FOLDER (the database holds cdnow_orders and rfm_segment)."""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import psycopg  # noqa: E402

REVENUE = "(SELECT customer_id, sum(amount)::float8 AS revenue FROM cdnow_orders GROUP BY customer_id) AS r"


def lorenz(conn, out):
    points = conn.execute(
        f"SELECT population_share, value_share FROM lorenz_curve((SELECT concentration_agg(revenue) FROM {REVENUE}), 200)"
    ).fetchall()
    gini = conn.execute(f"SELECT gini(revenue) FROM {REVENUE}").fetchone()[0]
    top20 = conn.execute(f"SELECT top_share(revenue, 0.2) FROM {REVENUE}").fetchone()[0]
    x, y = zip(*points)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="equal revenue per customer")
    ax.plot(x, y, color="tab:blue", label=f"CDNOW customers (Gini {gini:.3f})")
    # The Lorenz curve runs from the smallest customers up: the top 20 % start at 0.8.
    ax.plot([0.8], [1 - top20], "o", color="tab:red")
    ax.annotate(f"top 20 % of customers:\n{100 * top20:.1f} % of revenue", (0.8, 1 - top20),
                xytext=(0.35, 0.6), arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="share of customers (smallest first)", ylabel="share of revenue",
           title="Lorenz curve of CDNOW revenue per customer", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    fig.savefig(out / "lorenz.png", dpi=100, bbox_inches="tight")


def pareto(conn, out):
    rows = conn.execute(
        f"SELECT revenue, abc_class(revenue) OVER () FROM {REVENUE} ORDER BY revenue DESC").fetchall()
    revenue = np.array([r[0] for r in rows])
    classes = [r[1] for r in rows]
    cumulative = np.cumsum(revenue) / revenue.sum()
    share = np.arange(1, len(revenue) + 1) / len(revenue)
    colours = {"A": "tab:green", "B": "tab:orange", "C": "tab:grey", "D": "tab:red"}
    fig, ax = plt.subplots(figsize=(8, 5))
    for cls in sorted(set(classes)):
        mask = np.array([c == cls for c in classes])
        ax.fill_between(share, 0, cumulative, where=mask, color=colours[cls], alpha=0.35,
                        label=f"class {cls}: {mask.sum():,} customers")
    ax.plot(share, cumulative, color="black")
    ax.set(xlabel="share of customers (largest first)", ylabel="cumulative share of revenue",
           title="Pareto chart and ABC classes of CDNOW customers", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    fig.savefig(out / "pareto_abc.png", dpi=100, bbox_inches="tight")


def segments(conn, out):
    rows = conn.execute(
        """SELECT segment, count(*)::float8 / sum(count(*)) OVER (), sum(monetary) / sum(sum(monetary)) OVER ()
           FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders))
           GROUP BY segment ORDER BY 3 DESC""").fetchall()
    names = [r[0] for r in rows]
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.barh(y - 0.2, [100 * r[1] for r in rows], height=0.4, label="share of customers")
    ax.barh(y + 0.2, [100 * r[2] for r in rows], height=0.4, label="share of revenue")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set(xlabel="%", title="RFM segments of CDNOW: customers against revenue")
    ax.legend(loc="lower right")
    fig.savefig(out / "segments.png", dpi=100, bbox_inches="tight")


def migration(conn, out):
    matrix = conn.execute(
        """WITH before AS (SELECT customer_id, segment FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount)
                               FROM cdnow_orders WHERE order_date <= '1997-12-31'), as_of => '1997-12-31')),
                after AS (SELECT customer_id, segment FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount)
                               FROM cdnow_orders WHERE order_date <= '1998-06-30'), as_of => '1998-06-30'))
           SELECT migration_matrix(b.segment, a.segment) FROM before b FULL JOIN after a USING (customer_id)"""
    ).fetchone()[0]
    names = matrix["segments"]
    shares = np.array([row if row is not None else [np.nan] * len(names) for row in matrix["probabilities"]])
    fig, ax = plt.subplots(figsize=(9, 8))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            if matrix["counts"][i][j]:
                ax.text(j, i, f"{100 * shares[i, j]:.0f}", ha="center", va="center",
                        color="white" if shares[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="segment at 1998-06-30", ylabel="segment at 1997-12-31",
           title=f"Migration between RFM segments (% of each row; {100 * matrix['fluctuation_rate']:.1f} % changed)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.savefig(out / "migration.png", dpi=100, bbox_inches="tight")


def main():
    database, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(dbname=database) as conn:
        for draw in (lorenz, pareto, segments, migration):
            draw(conn, out)
            plt.close("all")
    print(f"pictures written to {out}: lorenz.png, pareto_abc.png, segments.png, migration.png")


if __name__ == "__main__":
    main()
