"""opvangmatch's geospatial core: settings, database, data model, loaders, scoring, task, maps."""

__version__ = "0.1.0"
