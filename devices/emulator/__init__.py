"""An ADB device emulator for tests and demos: an Android phone's adbd over TCP on 127.0.0.1.

It speaks the real wire protocol (handshake, AUTH with an RSA signature check,
streams, ``shell:``/shell v2, ``sync:``), runs shell commands in a sandbox
folder that stands in for the phone's filesystem, and answers getprop, /sys
and dumpsys from a phone description file. Debian's ``adb`` client and
adb-shell both talk to it.
"""

from devices.emulator.phone import Phone, load_phone
from devices.emulator.server import AdbEmulator
from devices.emulator.streams import Faults

__all__ = ["AdbEmulator", "Faults", "Phone", "load_phone"]
