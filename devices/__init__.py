"""Where and how blocks run: device profiles, the local host, runtimes (export + benchmark)."""
