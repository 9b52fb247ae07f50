"""The ``python -m lut`` command line and what only it needs: its subcommands (``luttools.commands``),
the converters to and from other tools' LUT formats (``luttools.formats``) and the LUT plots.

It sits above the LUT format (``lut``) and the search spaces (``search``); nothing below imports it.
"""
