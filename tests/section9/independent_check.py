#!/usr/bin/env python3
"""An independent check of SPEC section 9 (issue #19), sharing no code with tori.

From the JSON Lines events alone (Python's own JSON, zoneinfo for Europe/Helsinki and
integer arithmetic), computes for quarter Q:
  - the keys video_time, interpretation_minutes, stops, stop_minutes, deliveries,
    referrals_received of every party at every point, and from them, by SPEC section 3's
    largest-remainder rule, every invoice line and host share of the pools whose tranches
    use only these keys (or equal);
  - the reports referrals, room_utilisation and budgets (year to date from the invoices
    and host shares of the year's invoices.json files, forecast, OVER_BUDGET warnings);
and compares each with tori's invoices.json: to the cent and to the minute (second).

usage: independent_check.py QUARTER INVOICES_JSON [EARLIER_INVOICES_JSON ...] -- EVENTS.jsonl ...
Exit 0 when everything agrees; 1 listing every difference.
"""
import collections
import datetime
import json
import sys
from zoneinfo import ZoneInfo

HEL = ZoneInfo("Europe/Helsinki")
NEW_KEYS = {"video_time", "interpretation_minutes", "stops", "stop_minutes", "deliveries",
            "referrals_received"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
problems = []


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def quarter_of(dt):
    local = dt.astimezone(HEL)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def cents(text):
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))


def largest_remainder(amount, weights):
    total = sum(weights)
    a = abs(amount)
    shares = [a * w // total for w in weights]
    rema = [a * w % total for w in weights]
    left = a - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-rema[i], i))
    for i in order[:left]:
        shares[i] += 1
    return [s if amount >= 0 else -s for s in shares]


def check(what, mine, tori):
    if mine != tori:
        problems.append(f"{what}: independent {mine!r}, tori {tori!r}")


def main():
    args = sys.argv[1:]
    cut = args.index("--")
    quarter, invoices_file, earlier_files, event_files = args[0], args[1], args[2:cut], args[cut + 1:]
    year, qn = int(quarter[:4]), int(quarter[5])
    months = [(year, 3 * (qn - 1) + m) for m in (1, 2, 3)]

    contacts, points, agreements, costs = {}, {}, {}, collections.defaultdict(int)
    stops, interpretations, referrals, rooms, bookings, budgets = [], [], [], [], [], []
    for name in event_files:
        with open(name, encoding="utf-8") as f:
            for line in f:
                e = json.loads(line)
                t = e["type"]
                if t == "service_point_opened":
                    points[e["service_point_id"]] = e
                elif t == "agreement_signed":
                    agreements.setdefault(e["service_point_id"], []).append(e)
                elif t == "contact_recorded":
                    contacts[e["contact_id"]] = dict(e, voided=False)
                elif t == "contact_corrected":
                    contacts[e["contact_id"]].update(e["changes"])
                elif t == "contact_voided":
                    contacts[e["contact_id"]]["voided"] = True
                elif t == "cost_posted":
                    y, m = map(int, e["period"].split("-"))
                    if (y, m) in months:
                        costs[(e["service_point_id"], e["pool"])] += cents(e["amount"])
                elif t == "route_stop_recorded":
                    stops.append(e)
                elif t == "interpretation_provided":
                    interpretations.append(e)
                elif t == "contact_referred":
                    referrals.append(e)
                elif t == "room_registered":
                    rooms.append(e)
                elif t == "room_booked":
                    bookings.append(e)
                elif t == "budget_set":
                    budgets.append(e)

    # The keys, per (point, agency).
    keys = collections.defaultdict(lambda: collections.Counter())
    for c in contacts.values():
        if not c["voided"] and c["channel"] == "video" and quarter_of(instant(c["occurred_at"])) == quarter:
            keys[(c["service_point_id"], c["agency_id"])]["video_time"] += c["duration_s"]
    for i in interpretations:
        if quarter_of(instant(i["occurred_at"])) == quarter:
            keys[(i["service_point_id"], i["agency_id"])]["interpretation_minutes"] += i["minutes"]
    for s in stops:
        if quarter_of(instant(s["arrived_at"])) == quarter:
            k = keys[(s["service_point_id"], s["agency_id"])]
            k["stops"] += 1
            k["stop_minutes"] += s["minutes"]
            k["deliveries"] += s.get("deliveries", 0)
    counted = collections.Counter()
    for r in referrals:
        c = contacts[r["contact_id"]]
        if not c["voided"] and quarter_of(instant(c["occurred_at"])) == quarter:
            keys[(c["service_point_id"], r["to_agency_id"])]["referrals_received"] += 1
            counted[(c["service_point_id"], r["from_agency_id"], r["to_agency_id"])] += 1

    with open(invoices_file, encoding="utf-8") as f:
        run = json.load(f)
    lines = {}
    for inv in run["invoices"]:
        for l in inv["lines"]:
            if "adjusts_quarter" in l:
                continue
            lines[(inv["recipient_agency_id"], l["service_point_id"], l["pool"], l["key"],
                   l["weight_pct"])] = l
    host_shares = {(h["agency_id"], h["service_point_id"], h["pool"]): h["amount_cents"]
                   for h in run["host_shares"] if "adjusts_quarter" not in h}

    # Every pool whose tranches use only the new keys (or equal): its lines to the cent.
    checked_lines = 0
    first_day = datetime.date(year, months[0][1], 1)
    for point_id, versions in agreements.items():
        in_effect = [a for a in versions if a["effective_from"] <= first_day.isoformat()
                     and ("effective_to" not in a or a["effective_to"] > first_day.isoformat())]
        if not in_effect:
            continue
        agreement = max(in_effect, key=lambda a: (a["effective_from"], a["version"]))
        parties = sorted(agreement["parties"], key=lambda s: s.encode())
        host = points[point_id]["host_agency_id"]
        for pool, rule in agreement["pools"].items():
            tranche_keys = [t["key"] for t in rule["tranches"]]
            if not set(tranche_keys) & NEW_KEYS or not set(tranche_keys) <= NEW_KEYS | {"equal"}:
                continue
            amount = costs.get((point_id, pool), 0)
            weights = [int(round(float(t["weight_pct"]) * 10000)) for t in rule["tranches"]]
            tranche_cents = largest_remainder(amount, weights)
            host_total = 0
            for t, tranche in enumerate(rule["tranches"]):
                key = tranche["key"]
                values = [1 if key == "equal" else keys[(point_id, p)][key] for p in parties]
                if sum(values) == 0:
                    key = rule.get("fallback_key", "equal")
                    values = [1 if key == "equal" else keys[(point_id, p)][key] for p in parties]
                shares = largest_remainder(tranche_cents[t], values)
                weight_text = f"{weights[t] // 10000}.{weights[t] % 10000:04d}"
                for p, share, value in zip(parties, shares, values):
                    if p == host:
                        host_total += share
                        continue
                    line = lines.get((p, point_id, pool, key, weight_text))
                    if share == 0 and value == 0:
                        check(f"{point_id} {pool} {key} to {p}: no line", None,
                              line and line["amount_cents"])
                        continue
                    if line is None:
                        problems.append(f"{point_id} {pool} {key} to {p}: tori has no line")
                        continue
                    checked_lines += 1
                    check(f"{point_id} {pool} {key} to {p}: amount_cents", share, line["amount_cents"])
                    check(f"{point_id} {pool} {key} to {p}: basis_quantity", value, line["basis_quantity"])
                    check(f"{point_id} {pool} {key} to {p}: basis_total", sum(values), line["basis_total"])
            check(f"{point_id} {pool}: host share of {host}", host_total,
                  host_shares.get((host, point_id, pool), 0))

    # referrals
    mine = sorted([{"service_point_id": k[0], "from_agency_id": k[1], "to_agency_id": k[2],
                    "count": n} for k, n in counted.items()],
                  key=lambda r: (r["service_point_id"], r["from_agency_id"], r["to_agency_id"]))
    check("referrals", mine, run["referrals"])

    # room_utilisation
    mine = []
    for room in sorted(rooms, key=lambda r: (r["service_point_id"], r["room_id"])):
        hours = room["bookable_hours"]
        for (y, m) in months:
            booked = 0
            for b in bookings:
                start = instant(b["start"])
                local = start.astimezone(HEL)
                if (b["service_point_id"], b["room_id"]) == (room["service_point_id"], room["room_id"]) \
                        and (local.year, local.month) == (y, m):
                    booked += int((instant(b["end"]) - start).total_seconds()) // 60
            bookable = 0
            day = datetime.date(y, m, 1)
            while day.month == m:
                span = hours.get(WEEKDAYS[day.weekday()])
                if span:
                    a, b2 = span.split("-")
                    bookable += (int(b2[:2]) * 60 + int(b2[3:])) - (int(a[:2]) * 60 + int(a[3:]))
                day += datetime.timedelta(days=1)
            mine.append({"service_point_id": room["service_point_id"], "room_id": room["room_id"],
                         "month": f"{y}-{m:02d}", "booked_minutes": booked,
                         "bookable_minutes": bookable})
    check("room_utilisation", mine, run["room_utilisation"])

    # budgets: year to date from this run and the year's earlier runs (as issued)
    runs = [run]
    for name in earlier_files:
        with open(name, encoding="utf-8") as f:
            earlier = json.load(f)
        if earlier["quarter"][:4] == quarter[:4] and earlier["quarter"] < quarter:
            runs.append(earlier)
    mine, over = [], set()
    for b in sorted(budgets, key=lambda b: b["budget_id"]):
        if b["year"] != year:
            continue
        ytd = 0
        for r in runs:
            for inv in r["invoices"]:
                if inv["recipient_agency_id"] == b["agency_id"]:
                    ytd += sum(l["amount_cents"] for l in inv["lines"]
                               if (l["service_point_id"], l["pool"]) == (b["service_point_id"], b["pool"]))
            ytd += sum(h["amount_cents"] for h in r["host_shares"]
                       if (h["agency_id"], h["service_point_id"], h["pool"]) ==
                       (b["agency_id"], b["service_point_id"], b["pool"]))
        sign = -1 if ytd < 0 else 1
        forecast = sign * ((abs(ytd) * 4 * 2 + qn) // (2 * qn))
        mine.append({"budget_id": b["budget_id"], "agency_id": b["agency_id"],
                     "service_point_id": b["service_point_id"], "pool": b["pool"], "year": b["year"],
                     "budget_cents": cents(b["amount"]), "year_to_date_cents": ytd,
                     "forecast_cents": forecast})
        if forecast > cents(b["amount"]):
            over.add(b["budget_id"])
    check("budgets", mine, run["budgets"])
    warned = {w["message"].split("'")[1] for w in run["warnings"] if w["code"] == "OVER_BUDGET"}
    check("OVER_BUDGET warnings", sorted(over), sorted(warned))

    if checked_lines == 0 or not mine or not run["referrals"]:
        problems.append("the generated data exercised nothing (no lines, budgets or referrals)")
    for p in problems:
        print("DIFFERENCE", p)
    print(f"{quarter}: {checked_lines} invoice lines of the new keys, {len(run['referrals'])} "
          f"referral pairs, {len(run['room_utilisation'])} room months, {len(mine)} budgets "
          f"({len(over)} over): {'agree' if not problems else 'DIFFER'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
