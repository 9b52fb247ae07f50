"""Orchestration: space -> unique keys -> export -> device benchmark -> LUT rows."""
