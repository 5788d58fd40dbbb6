"""Helpers for the web tests: the expected wording of portal labels in each language.

Written out here (not read from the catalogues) so a missing translation fails a test.
"""

PORTAL_PATHS = {
    "storefront": "/",
    "merchant": "/merchant/",
    "hub": "/hub/",
    "customs": "/customs/",
    "academy": "/academy/",
    "ops": "/ops/",
}

PORTAL_LABELS = {
    "en": {
        "storefront": "Storefront",
        "merchant": "Merchant portal",
        "hub": "eFulfilment hub",
        "customs": "Customs",
        "academy": "Academy",
        "ops": "Operations",
    },
    "ms": {
        "storefront": "Kedai",
        "merchant": "Portal peniaga",
        "hub": "Hab ePemenuhan",
        "customs": "Kastam",
        "academy": "Akademi",
        "ops": "Operasi",
    },
    "zh-hans": {
        "storefront": "商城",
        "merchant": "商家中心",
        "hub": "电子履约中心",
        "customs": "海关",
        "academy": "学院",
        "ops": "运营中心",
    },
}

LANGUAGES = ["en", "ms", "zh-hans"]
