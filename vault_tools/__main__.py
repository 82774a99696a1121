from vault_tools.cli import main

raise SystemExit(main())
