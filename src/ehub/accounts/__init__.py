"""Accounts: users, organizations, memberships and roles, API tokens, buyer profiles."""
