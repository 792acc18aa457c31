"""Run the impostor command line from a checkout: ``python cli.py compare DOC LIVE``.

The installed ``impostor`` command and this file both start ``impostor.cli.main``; the commands
themselves live in ``impostor/cli/``.
"""

from impostor.cli import main

if __name__ == "__main__":
    main()
