"""Customers: who uses the product and on which plan."""
