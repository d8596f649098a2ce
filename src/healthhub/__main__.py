"""``python -m healthhub`` runs the command line."""

from healthhub.cli import main

main()
