"""Customs: tariff, CBEC tax and quota, CEB documents, matching, gateways, risk (to come)."""
