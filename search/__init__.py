"""Search spaces, candidate blocks and (later) the DNAS engine."""
