"""The `etude` command: subcommands come from the components installed beside it."""
