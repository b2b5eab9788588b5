"""``python -m cli``: the same as the ``opvangmatch`` console script."""

from cli.main import main

main()
