"""Campaigns: campaigns such as Malaysia Week, offers, flash-sale allocations (to come)."""
