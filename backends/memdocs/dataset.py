"""memdocs' default dataset: small, deterministic, nested, and big enough
in one collection for paging to cross page boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta

from .store import Doc, MemIndex, MemStore, Operation

# -- the default dataset -------------------------------------------------------------

_EPOCH = datetime(2024, 3, 1, 9, 0)
_STATUSES = ("open", "paid", "shipped", "void")
_CITIES = ("Lisbon", "Oslo", "Kyoto", "Lima", "Accra", "Quito", "Perth", "Tallinn", "Zürich")
_NAMES = ("Ada", "Grace", "Linus", "Barbara", "Ken", "Radia", "Edsger", "Hedy", "Alan", "Joan")
_SKUS = ("pen", "ink", "pad", "lamp", "desk", "mug")
#: Orders in the default store: over 1,000, so paging crosses boundaries
#: at limits 1, 7 and 500 (1,100 = 157 * 7 + 1 = 2 * 500 + 100).
ORDERS = 1_100


def _order(i: int) -> Doc:
    doc: Doc = {
        "_id": i + 1,
        "status": _STATUSES[i % len(_STATUSES)],
        "customer": {
            "name": _NAMES[i % len(_NAMES)],
            "address": {"city": _CITIES[i % len(_CITIES)], "zip": f"{1000 + i * 7 % 9000}"},
        },
        "items": [
            {"sku": _SKUS[(i + k) % len(_SKUS)], "qty": 1 + (i + k) % 3} for k in range(1 + i % 3)
        ],
        "total": round((i * 37 % 5000) / 10 + 0.5, 2),
        "created": (_EPOCH + timedelta(hours=i)).isoformat(),
    }
    if i % 5 == 0:
        doc["note"] = f"call before delivery #{i}"
    if i % 11 == 0:
        doc["gift"] = True
    return doc


def default_store() -> MemStore:
    """The default dataset: ``shop`` (orders, customers, an odd name) and
    ``logs`` (events of mixed shapes), plus a few seeded operations."""
    store = MemStore()
    orders = store.add("shop", "orders", (_order(i) for i in range(ORDERS)))
    orders.indexes.append(MemIndex("status_1", (("status", 1),), scans=42))
    orders.indexes.append(
        MemIndex("customer.name_1_created_-1", (("customer.name", 1), ("created", -1)))
    )
    store.add(
        "shop",
        "customers",
        (
            {
                "_id": f"c{i:02d}",
                "name": _NAMES[i % len(_NAMES)],
                "tags": ["vip"] if i % 4 == 0 else [],
                "contact": {"email": f"{_NAMES[i % len(_NAMES)].lower()}@example.org"},
            }
            for i in range(12)
        ),
    )
    store.add(
        "shop",
        'odd "names" ünï.coll',
        (
            {"_id": 1, "dotted.key": "a field name with a dot", "$weird": 1},
            {"_id": 2, "spaced key": [1, [2, [3]]], "empty": {}},
        ),
    )
    store.add(
        "logs",
        "events",
        (
            {"_id": 1, "level": "info", "msg": "started"},
            {"_id": 2, "level": "warn", "msg": "slow disk", "detail": {"ms": 812}},
            {"_id": 3, "level": "error", "msg": None, "trace": ["a", "b"]},
            {"_id": "x-4", "kind": "string _id", "level": 3},
        ),
    )
    store.operations[101] = Operation(
        101, "find", "shop.orders", 12, 'find orders {"status": "open"}'
    )
    store.operations[102] = Operation(
        102, "update", "shop.customers", 3, 'update customers {"tags": "vip"} {"$set": {"tier": 1}}'
    )
    store.operations[103] = Operation(
        103, "createIndex", "shop.orders", 41, 'createIndex orders {"created": -1}'
    )
    return store
