"""Bare apps the services are measured against: each framework's hello-world, a Flask chat view."""
