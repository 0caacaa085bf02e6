"""`python -m reference_server serve|add-user|list-users|remove-user|reset-lockout` (see cli.py)."""

import sys

from reference_server.cli import main

sys.exit(main())
