"""What every lutnas package shares, and nothing else: the version, one-line command-line errors
(``lutnas.cli``). It imports nothing of ours; every other package may import it."""

__version__ = "0.16.0"
