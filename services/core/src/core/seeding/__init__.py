"""Seed data loading: the articles, customers and admin user of a fresh local stack."""
