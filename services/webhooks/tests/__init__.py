"""Tests of the Flask webhook adapter."""
