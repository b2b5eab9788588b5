"""The ``opvangmatch`` command line: the one entry point, outside the core, that wires ``geo`` and ``api``.

:func:`cli.main.main` reads the settings once, builds one :class:`cli.context.Context` and hands it to every
command group (``cli.db``, ``cli.fetch``, ``cli.score``, ``cli.task``, ``cli.maps``, ``cli.serve``), each of which
adds its commands to the app it is given. Nothing registers itself on import.
"""
