"""``edge service install`` / ``uninstall``: the systemd unit, its user and directories."""
