"""``python -m nmlhub``."""

import sys

from .cli import main

sys.exit(main())
