"""Accounts: who is signed in, as the gateway asks on behalf of the services behind it."""
