#!/usr/bin/env python3
"""Plays one day of one store against a running `kopilka serve`, then checks the books.

Several tills (staffed and self-checkout) serve customers who register by SMS code, earn,
spend (sometimes with a one-time code from the app), retry receipts after a network hiccup,
return goods whole or in part; one customer loses a card and binds a printed one; the expiry
job runs. At the end the ledger must balance and every customer's history must add up to
their balance. Exits non-zero if anything is off.

    KOPILKA_SMS_OUTBOX=outbox.jsonl kopilka serve --demo &
    KOPILKA_SMS_OUTBOX=outbox.jsonl python3 scripts/day_of_a_store.py --kopilka target/debug/kopilka

The `kopilka` commands it runs (till keys, a staff account, a card batch, the expiry job) see
the same environment, so they work on the same database as the server.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

PRODUCTS = [
    ("4607001770011", 10, 8990, "Молоко 3,2% 1 л"),
    ("4607001770028", 10, 12950, "Творог 5% 400 г"),
    ("4607001770035", 16, 45900, "Сыр Российский 300 г"),
    ("4607001770042", 11, 15990, "Яблоки Гала 1 кг"),
    ("4607001770059", 11, 6990, "Бананы 1 кг"),
    ("4607001770066", 12, 38900, "Филе куриное 1 кг"),
    ("4607001770073", 14, 5490, "Батон нарезной"),
    ("4607001770080", 15, 11290, "Гречка 900 г"),
    ("4607001770097", 17, 9990, "Сок апельсиновый 1 л"),
    ("4607001770103", 20, 34900, "Средство для посуды"),
    ("4607001770110", 8, 21900, "Сигареты"),
    ("4607001770127", 6, 499000, "Пылесос"),
]


class Failed(Exception):
    pass


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/") + "/api/v1"

    def call(self, method, path, body=None, token=None, expect=(200, 201)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, text = res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        payload = json.loads(text) if text else None
        if status not in expect:
            raise Failed(f"{method} {path} answered {status}: {text}")
        return status, payload


def kopilka(binary, *args, stdin=None):
    out = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise Failed(f"kopilka {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip().splitlines()


def last_code(outbox, phone, wait_s=5.0):
    # The server sends SMS after it answers: the line may take a moment to appear.
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with open(outbox, encoding="utf-8") as f:
                for line in reversed(f.read().splitlines()):
                    sms = json.loads(line)
                    if sms["phone"] == phone:
                        return re.search(r"\b(\d{6})\b", sms["text"]).group(1)
        except (FileNotFoundError, json.JSONDecodeError):  # not yet there, or half written
            pass
        if time.monotonic() > deadline:
            raise Failed(f"no SMS to {phone} in {outbox}")
        time.sleep(0.02)


def register(api, outbox, rng, n):
    phone = "+79" + "".join(rng.choice("0123456789") for _ in range(9))
    api.call("POST", "/auth/otp", {"phone": phone}, expect=(202,))
    _, verified = api.call("POST", "/auth/otp/verify", {"phone": phone, "code": last_code(outbox, phone)})
    if verified["status"] != "registration_required":
        raise Failed(f"{phone} was expected to be new")
    female = n % 2 == 0
    _, done = api.call("POST", "/auth/register", {
        "registration_token": verified["registration_token"],
        "last_name": "Покупательница" if female else "Покупатель",
        "first_name": ["Анна", "Пётр", "Мария", "Олег", "Вера", "Иван", "Ольга", "Глеб"][n % 8],
        "gender": "female" if female else "male",
        "birth_date": f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "city": "Москва",
        "favourite_store_id": 1,
        "favourite_category_id": rng.choice([10, 11, 12, 16]),
        "consents": {"personal_data": True, "newsletters": rng.random() < 0.3},
        "password": f"день-магазина-{rng.randint(1000, 9999)}",
    }, expect=(201,))
    return {"phone": phone, "token": done["token"], "card": done["card"]["number"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--outbox", default=os.environ.get("KOPILKA_SMS_OUTBOX", "outbox.jsonl"))
    parser.add_argument("--kopilka", default="target/debug/kopilka", help="the kopilka binary")
    parser.add_argument("--store", type=int, default=1)
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument("--purchases", type=int, default=80)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    api = Api(args.base)
    stats = {"purchases": 0, "retries": 0, "refunds": 0, "spent": 0, "earned": 0, "tokens": 0, "refused": 0}

    tills = [kopilka(args.kopilka, "till", "create", "--store", str(args.store), "--kind", kind)[-1]
             for kind in ("staffed", "staffed", "staffed", "self_checkout")]
    login = f"day{int(time.time())}{rng.randint(100, 999)}"
    kopilka(args.kopilka, "staff", "create", "--login", login, "--role", "accounting", stdin="бухгалтерия-дня-1\n")
    _, staff = api.call("POST", "/admin/auth/login", {"login": login, "password": "бухгалтерия-дня-1"})

    customers = [register(api, args.outbox, rng, n) for n in range(args.customers)]
    receipts = []
    for n in range(args.purchases):
        c = rng.choice(customers)
        till = rng.choice(tills)
        barcode = c["card"]
        if rng.random() < 0.15:
            _, t = api.call("POST", "/me/card-token", token=c["token"])
            barcode = t["code"]
            stats["tokens"] += 1
        _, who = api.call("POST", "/pos/identify", {"barcode": barcode}, token=till)
        lines = [{"line_id": str(i + 1), "sku": sku, "category_id": cat, "amount_kop": price * rng.randint(1, 3)}
                 for i, (sku, cat, price, _) in enumerate(rng.sample(PRODUCTS, rng.randint(1, 6)))]
        redeem = rng.randint(1, max(1, who["available_points"])) if rng.random() < 0.2 and who["available_points"] > 0 else 0
        _, quote = api.call("POST", "/pos/quote", {"barcode": barcode, "lines": lines, "redeem_points": redeem}, token=till)
        body = {"receipt_id": f"{args.store}-{int(time.time())}-{n}", "barcode": barcode, "lines": lines,
                "redeem_points": quote["redeem_points"]}
        status, bought = api.call("POST", "/pos/purchases", body, token=till, expect=(201, 409))
        if status == 409:  # the balance moved between quote and purchase: the till re-quotes
            stats["refused"] += 1
            continue
        stats["purchases"] += 1
        stats["spent"] += bought["redeemed_points"]
        stats["earned"] += bought["earned_points"]
        if rng.random() < 0.1:  # the answer was lost on the way: the till sends it again
            _, again = api.call("POST", "/pos/purchases", body, token=till, expect=(200,))
            if again != bought:
                raise Failed(f"a retry answered differently: {again} != {bought}")
            stats["retries"] += 1
        receipts.append((till, body))

    for till, body in rng.sample(receipts, max(1, len(receipts) // 12)):
        whole = rng.random() < 0.5
        line = rng.choice(body["lines"])
        refund = {"refund_id": "ret-" + body["receipt_id"]}
        if not whole:
            refund["lines"] = [{"line_id": line["line_id"], "amount_kop": max(1, line["amount_kop"] // 2)}]
        api.call("POST", f"/pos/purchases/{body['receipt_id']}/refunds", refund, token=till, expect=(201,))
        api.call("POST", f"/pos/purchases/{body['receipt_id']}/refunds", refund, token=till, expect=(200,))
        stats["refunds"] += 1

    # A lost card: blocked, replaced by a printed one; the balance follows the customer.
    lost = customers[0]
    printed = kopilka(args.kopilka, "cards", "issue", "--count", "1")[-1]
    _, before = api.call("GET", "/me/balance", token=lost["token"])
    api.call("POST", f"/me/cards/{lost['card']}/block", token=lost["token"])
    api.call("POST", "/pos/identify", {"barcode": lost["card"]}, token=tills[0], expect=(409,))
    api.call("POST", "/me/cards", {"number": printed}, token=lost["token"], expect=(201,))
    _, who = api.call("POST", "/pos/identify", {"barcode": printed}, token=tills[0])
    if who["available_points"] != before["available"]:
        raise Failed("the balance did not follow the customer to the new card")

    expired = kopilka(args.kopilka, "expire")[-1]

    _, report = api.call("GET", "/admin/reports/liability", token=staff["token"])
    if not report["balanced"]:
        raise Failed(f"the ledger does not balance: {report}")
    for c in customers:
        _, balance = api.call("GET", "/me/balance", token=c["token"])
        total, cursor = 0, None
        while True:
            _, page = api.call("GET", "/me/history?limit=100" + (f"&cursor={cursor}" if cursor else ""), token=c["token"])
            total += sum(item["points"] for item in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        if total != balance["available"] + balance["pending"]:
            raise Failed(f"{c['phone']}: history adds up to {total}, balance is {balance}")

    print(f"day of store {args.store}: {len(customers)} customers, {stats['purchases']} purchases "
          f"({stats['tokens']} by one-time code, {stats['retries']} retried, {stats['refused']} refused), "
          f"{stats['refunds']} refunds, {stats['earned']} points earned, {stats['spent']} spent, expiry: {expired}")
    print(f"ledger balanced: debits {report['debits']} = credits {report['credits']}; "
          f"liability {report['liability_points']} points; every history explains its balance")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
