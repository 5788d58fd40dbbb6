"""The customs engine's pure rules: CBEC tax and limits, quota rules, CEB documents and their
XML codec, validation, three-document matching and risk lanes.

Nothing here touches the database or the network. Rates, limits, risk weights and the
restricted-party list are data (``ehub/customs/data`` and the catalog's tariff files), read from
the installed package the way a constant would be; callers pass everything else in.
"""
