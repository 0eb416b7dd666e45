"""The sample coffee shop: products, vendors, collections, coupons, cards, tags and names.

Segment examples and tests refer to these names (``PRODUCTS``, ``COLLECTIONS``, ``VENDORS``,
``COUPONS``, ``CARDS``), so they are part of the sample data's contract: rename one and the
examples that use it stop matching anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductSpec:
    name: str
    sku: str
    vendor: str
    price_cents: int
    collections: tuple[str, ...]
    popularity: float  # relative weight when customers pick products


COLLECTIONS = ("Coffee", "Decaf", "Equipment", "Brewing", "Accessories", "Gifts")
VENDORS = (
    "Hilltop Roasters",
    "Valley Farms",
    "Northern Grind",
    "Kettle Works",
    "Cup & Saucer",
    "Shop House",
)

_P = ProductSpec
CATALOGUE: tuple[ProductSpec, ...] = (
    _P("Espresso Beans", "COF-ESP-1KG", "Hilltop Roasters", 2400, ("Coffee",), 10),
    _P("House Blend", "COF-HSE-1KG", "Hilltop Roasters", 1900, ("Coffee",), 9),
    _P("Ethiopian Single Origin", "COF-ETH-250", "Valley Farms", 1500, ("Coffee",), 5),
    _P("Colombian Single Origin", "COF-COL-250", "Valley Farms", 1400, ("Coffee",), 5),
    _P("Kenyan Single Origin", "COF-KEN-250", "Valley Farms", 1600, ("Coffee",), 3),
    _P("Dark Roast", "COF-DRK-1KG", "Hilltop Roasters", 2100, ("Coffee",), 6),
    _P("Cold Brew Blend", "COF-CLD-500", "Northern Grind", 1300, ("Coffee",), 4),
    _P("Decaf Beans", "DEC-BNS-500", "Valley Farms", 1500, ("Coffee", "Decaf"), 4),
    _P("Decaf Espresso", "DEC-ESP-500", "Hilltop Roasters", 1600, ("Coffee", "Decaf"), 2),
    _P("Swiss Water Decaf", "DEC-SWS-250", "Valley Farms", 1200, ("Decaf",), 1.5),
    _P("Burr Grinder", "EQP-GRN-BUR", "Northern Grind", 12900, ("Equipment",), 2),
    _P("Hand Grinder", "EQP-GRN-HND", "Northern Grind", 5900, ("Equipment",), 1.5),
    _P("Espresso Machine", "EQP-ESP-MCH", "Kettle Works", 49900, ("Equipment",), 0.5),
    _P("Milk Frother", "EQP-MLK-FRT", "Kettle Works", 3900, ("Equipment",), 1),
    _P("Digital Scale", "EQP-SCL-DGT", "Kettle Works", 2900, ("Equipment", "Brewing"), 1.5),
    _P("Pour-over Kettle", "BRW-KTL-POV", "Kettle Works", 4500, ("Brewing", "Equipment"), 2),
    _P("Pour-over Dripper", "BRW-DRP-POV", "Cup & Saucer", 2200, ("Brewing",), 2.5),
    _P("Paper Filters", "BRW-FLT-100", "Cup & Saucer", 600, ("Brewing",), 6),
    _P("French Press", "BRW-FRP-1L", "Kettle Works", 3200, ("Brewing",), 2),
    _P("AeroPress", "BRW-AER-STD", "Kettle Works", 3500, ("Brewing",), 2),
    _P("Moka Pot", "BRW-MOK-6CP", "Kettle Works", 2800, ("Brewing",), 1.5),
    _P("Cold Brew Jar", "BRW-CLD-JAR", "Northern Grind", 2500, ("Brewing",), 1),
    _P("Ceramic Mug", "ACC-MUG-CER", "Cup & Saucer", 1400, ("Accessories",), 3),
    _P("Travel Tumbler", "ACC-TMB-TRV", "Cup & Saucer", 2400, ("Accessories",), 2.5),
    _P("Espresso Cups (set of 4)", "ACC-CUP-ESP", "Cup & Saucer", 2600, ("Accessories",), 1),
    _P("Tamper", "ACC-TMP-STL", "Northern Grind", 1900, ("Accessories",), 1),
    _P("Knock Box", "ACC-KNK-BOX", "Northern Grind", 2100, ("Accessories",), 0.7),
    _P("Gift Card", "GFT-CRD-050", "Shop House", 5000, ("Gifts",), 2),
    _P("Coffee Subscription Box", "GFT-SUB-BOX", "Shop House", 3900, ("Gifts", "Coffee"), 1.5),
    _P("Tasting Gift Set", "GFT-TST-SET", "Shop House", 4400, ("Gifts", "Coffee"), 1),
)
PRODUCTS = tuple(p.name for p in CATALOGUE)

COUPONS = ("WELCOME10", "SPRING15", "FREESHIP", "LOYAL20", "BLACKFRIDAY")
CARDS = ("Silver", "Gold", "Black")
STATUSES = ("prospect", "active", "churned")
QUALITIES = ("A", "B", "C")
# (tag, share of customers carrying it)
TAGS = (("newsletter", 0.30), ("subscription", 0.08), ("vip", 0.05), ("wholesale", 0.04))
# (country, weight)
COUNTRIES = (
    ("US", 45),
    ("GB", 12),
    ("DE", 12),
    ("CA", 10),
    ("FR", 8),
    ("AU", 8),
    ("NL", 5),
)
FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Robin", "Charlie", "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Leo",
    "Sofia", "Hugo", "Lena", "Felix", "Clara", "Jonas", "Nora", "Oscar", "Ida", "Theo",
    "Maya", "Elias", "Zoe", "Finn", "Lina", "Max", "Ella", "Ben", "Lucia", "Omar",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Brown", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Walker", "Hall", "Young",
    "King", "Wright", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Roberts",
    "Turner", "Muller", "Schmidt", "Weber", "Fischer", "Wagner", "Becker", "Martin", "Bernard",
    "Dubois", "Laurent", "Jansen", "Visser", "Bakker", "Smit", "Meyer", "Fox", "Stone", "Reed",
    "Hart", "Wood",
)  # fmt: skip
