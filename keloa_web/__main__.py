"""`python -m keloa_web <command>`: backups, restores, moving to PostgreSQL, retention, checks
(keloa_web/operations/cli.py). `python -m keloa_web --help` lists them."""
from keloa_web.operations.cli import main

main(prog_name="python -m keloa_web")
