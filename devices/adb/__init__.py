"""Android phones over ADB, through adb-shell (no adb server needed): transport, keys, phone facts."""
