"""devices.adb.phones without a phone: the checks a farm makes before it connects or measures."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from devices.adb.phones import check_identical, open_phones
from devices.device import Where
from devices.local import LocalDevice
from devices.profiles import get_profile, load_profile
from devices.runtimes import get_runtime
from tests.conftest import PHONE_PROFILE


def test_a_runner_refuses_a_runtime_it_cannot_run_and_a_missing_binary():
    profile = dataclasses.replace(load_profile(PHONE_PROFILE), runner="onnxruntime_perf_test")
    farm = open_phones(profile, Where(host="127.0.0.1:9"))  # nothing listens: the checks come before connecting
    with pytest.raises(ValueError, match="runner onnxruntime_perf_test runs onnxruntime models, not torchscript"):
        farm.prepare(get_runtime("torchscript"))
    with pytest.raises(ValueError, match="runner onnxruntime_perf_test needs runner_binary"):
        farm.prepare(get_runtime("onnxruntime"))


def test_a_farm_refuses_phones_that_differ():
    phones = [SimpleNamespace(transport=SimpleNamespace(endpoint=e)) for e in ("usb:A", "usb:B")]
    env = {"device_model": "Pixel 7", "cores": 8, "governor": "g", "os": "Android 14", "affinity": "6-7",
           "runtime_version": "1.18"}
    check_identical(phones, [env, dict(env)])
    with pytest.raises(ValueError, match="the phones differ in os: usb:A has 'Android 14', usb:B has 'Android 13'; "
                                         "a farm needs identical phones"):
        check_identical(phones, [env, {**env, "os": "Android 13"}])


def test_measuring_before_prepare_is_an_error():
    with pytest.raises(RuntimeError, match="before prepare"):
        LocalDevice(get_profile("cpu")).measure(None, lambda rows: None, lambda n: None)
