"""Simulated cases for trying the reports: invented data only."""
