"""`python -m hie_tasks`: the same as the `hie-tasks` command."""

from hie_tasks.cli.entry import main

raise SystemExit(main())
