"""The one runtime setting a LUT's rows share (profiler.settings)."""

import pytest

from lut import LUT, LUTError, load
from profiler.settings import runtime_settings
from search.space import get_space
from tests.search.test_coverage import TINY_LUT, lut_of


def test_runtime_settings_are_the_rows_one_setting():
    rt = runtime_settings(load(TINY_LUT))
    assert (rt.device, rt.runtime, rt.threads, rt.opt_level) == ("cpu", "onnxruntime", 1, "all")
    mixed = lut_of(get_space("fbnet-cifar")).add(lut_of(get_space("fbnet-cifar", input_size=16), threads=2),
                                                 replace=True)
    with pytest.raises(LUTError, match="column threads has several values: 1, 2"):
        runtime_settings(mixed)
    with pytest.raises(LUTError, match="no rows"):
        runtime_settings(LUT.empty())
