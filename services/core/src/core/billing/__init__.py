"""Billing: each customer's subscription state and the payment events that changed it."""
