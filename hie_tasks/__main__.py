from hie_tasks.cli.main import main

raise SystemExit(main())
