"""Search spaces, candidate blocks and (later) the DNAS engine."""

from search.importpath import prefer_installed_lut

prefer_installed_lut()  # a ./lut/ folder of LUT files must not hide the lut package
