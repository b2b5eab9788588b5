"""opvangmatch's core: everything the service knows about places, people and the placement task, with no HTTP and
no command line in it.

Layers, each importing only those below it (``tests/test_structure.py`` holds the code to this, lazy imports too):

- ``cli/`` (the ``opvangmatch`` command) and ``api/`` (the HTTP service) sit on top and are the only readers of
  the environment, through :class:`geo.settings.Settings`, which they pass down;
- the capabilities: :mod:`geo.score` (measure -> grade -> explain), :mod:`geo.task`, :mod:`geo.proposals`,
  :mod:`geo.pilots`, :mod:`geo.maps`, :mod:`geo.fetch`, :mod:`geo.analysis`;
- the data: :mod:`geo.io` (loaders), :mod:`geo.db` (database), :mod:`geo.models` (tables);
- the ground: :mod:`geo.domain` (constants of the domain), :mod:`geo.errors` (the one error hierarchy, with its
  HTTP status and exit code), :mod:`geo.settings`.
"""

__version__ = "0.1.0"
